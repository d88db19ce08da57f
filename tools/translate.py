"""Translate a folder tree of images with a trained CycleGAN generator.

Writes ``OUT/<relative path>`` for every image under ``SRC``, with the same
file names, so a dataset config can point its ``img_path`` at ``OUT`` (e.g. a
"Day2Night (CS)" copy of ``data/cityscapes/leftImg8bit/train``; labels stay
in the original ``gtFine``). Uses the EMA generator by default (Scherer et
al., 2021, §4.2). Resumable: images whose output exists are skipped; outputs
are written to a temporary file and renamed, so an interrupted run never
leaves a truncated image behind.

Example::

    python tools/translate.py configs/cyclegan/city2night.py \
        work_dirs/city2night/iter_700000.pth \
        --src data/cityscapes/leftImg8bit/train \
        --out data/cityscapes_day2night/leftImg8bit/train \
        --scale 0.5 --tile 512 --overlap 64
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Translate a folder of images with a CycleGAN generator')
    parser.add_argument('config', help='CycleGAN config (model.generator)')
    parser.add_argument('checkpoint', help='CycleGAN checkpoint')
    parser.add_argument('--src', required=True, help='input folder (tree)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--direction', default='a2b', choices=['a2b', 'b2a'],
                        help='a2b = domain A (day) -> B (night)')
    parser.add_argument('--no-ema', action='store_true',
                        help='use the raw instead of the EMA generator')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='images (or tiles) per forward pass')
    parser.add_argument('--tile', type=int, default=None,
                        help='tile size for images larger than it')
    parser.add_argument('--overlap', type=int, default=32,
                        help='tile overlap in pixels (blended)')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='resize inputs by this factor before '
                        'translating; outputs are resized back to the input'
                        ' size so labels stay aligned')
    parser.add_argument('--ext', nargs='+', default=list(IMG_EXTENSIONS),
                        help='input file extensions')
    parser.add_argument('--device', default=None,
                        help='cuda / cpu (default: cuda if available)')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-translate images whose output exists')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='config overrides key=value')
    return parser.parse_args(argv)


def list_images(src: str, exts) -> List[str]:
    """Sorted relative paths of the images below ``src``."""
    exts = tuple(e.lower() for e in exts)
    rels = []
    for dirpath, dirnames, filenames in os.walk(src, followlinks=True):
        dirnames.sort()
        for f in sorted(filenames):
            if f.lower().endswith(exts) and not f.startswith('.'):
                rels.append(osp.relpath(osp.join(dirpath, f), src))
    return rels


def write_atomic(path: str, img: np.ndarray) -> None:
    """Write ``img`` (BGR uint8) to ``path`` via a temp file + rename."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    stem, ext = osp.splitext(osp.basename(path))
    tmp = osp.join(osp.dirname(path), f'.{stem}.{os.getpid()}.tmp{ext}')
    try:
        if not cv2.imwrite(tmp, img):
            raise OSError(f'cv2 could not write {tmp!r}')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def build_generator(config: str, checkpoint: str, direction: str, ema: bool,
                    cfg_options: Optional[dict] = None):
    """Generator from ``config.model.generator`` with weights from a CycleGAN
    checkpoint (clear errors when the checkpoint does not hold them)."""
    from mmengine.config import Config

    import mmda  # noqa: F401  (registers modules, allow-lists ckpt types)
    from mmda.models.translators.inference import build_frozen_generator
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = cfg.get('model', {})
    gen_cfg = model_cfg.get('generator') if model_cfg else None
    if gen_cfg is None:
        raise KeyError(f'config {config!r} has no model.generator (expected '
                       'a CycleGAN config)')
    from mmengine.registry import DefaultScope
    scope = cfg.get('default_scope', 'mmda')
    with DefaultScope.overwrite_default_scope(scope):
        return build_frozen_generator(dict(gen_cfg), checkpoint, direction,
                                      ema)


def _to_tensor(imgs: List[np.ndarray], device) -> torch.Tensor:
    x = torch.from_numpy(np.stack([im[..., ::-1] for im in imgs]))
    return x.permute(0, 3, 1, 2).float().to(device) / 127.5 - 1.0


def _to_images(y: torch.Tensor) -> List[np.ndarray]:
    y = ((y.clamp(-1, 1) + 1) * 127.5).round().byte()
    y = y.permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(im[..., ::-1]) for im in y]


def translate_folder(net,
                     src: str,
                     out: str,
                     batch_size: int = 4,
                     tile: Optional[int] = None,
                     overlap: int = 32,
                     scale: float = 1.0,
                     exts=IMG_EXTENSIONS,
                     device='cpu',
                     overwrite: bool = False,
                     progress: bool = True) -> Dict[str, int]:
    """Translate every image of ``src`` into ``out`` (same relative paths).

    Images of equal size are batched (``batch_size``); with ``tile`` set,
    larger images are translated tile by tile (tiles batched). Returns
    counts ``dict(total=, written=, skipped=, failed=)``.
    """
    from tqdm import tqdm

    from mmda.models.translators.inference import tiled_forward
    if not osp.isdir(src):
        raise FileNotFoundError(f'--src {src!r} is not a directory')
    if osp.abspath(src) == osp.abspath(out):
        raise ValueError('--out must differ from --src (images would be '
                         'overwritten)')
    rels = list_images(src, exts)
    if not rels:
        raise FileNotFoundError(f'--src {src!r} contains no images with '
                                f'extensions {tuple(exts)}')
    stats = dict(total=len(rels), written=0, skipped=0, failed=0)
    todo = []
    for rel in rels:
        if not overwrite and osp.isfile(osp.join(out, rel)):
            stats['skipped'] += 1
        else:
            todo.append(rel)
    pending: Dict[Tuple[int, int], List[Tuple[str, np.ndarray, tuple]]] = {}

    def run(items):
        imgs = [im for _, im, _ in items]
        x = _to_tensor(imgs, device)
        with torch.no_grad():
            y = tiled_forward(net, x, tile, overlap, batch_size)
        for (rel, _, orig_hw), res in zip(items, _to_images(y)):
            if res.shape[:2] != orig_hw:
                res = cv2.resize(res, (orig_hw[1], orig_hw[0]),
                                 interpolation=cv2.INTER_LINEAR)
            write_atomic(osp.join(out, rel), res)
            stats['written'] += 1

    bar = tqdm(todo, desc='translate', unit='img', disable=not progress)
    for rel in bar:
        img = cv2.imread(osp.join(src, rel), cv2.IMREAD_COLOR)
        if img is None:
            stats['failed'] += 1
            bar.write(f'WARNING: cannot read {osp.join(src, rel)!r}, skipped')
            continue
        orig_hw = img.shape[:2]
        if scale != 1.0:
            img = cv2.resize(img, None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_AREA if scale < 1 else
                             cv2.INTER_LINEAR)
        key = img.shape[:2]
        big = tile is not None and (key[0] > tile or key[1] > tile)
        if big:
            run([(rel, img, orig_hw)])  # tiles are batched inside
            continue
        pending.setdefault(key, []).append((rel, img, orig_hw))
        if len(pending[key]) >= batch_size:
            run(pending.pop(key))
    for key in list(pending):
        run(pending.pop(key))
    bar.close()
    return stats


def main(argv=None) -> Dict[str, int]:
    args = parse_args(argv)
    if not osp.isdir(args.src):
        raise SystemExit(f'error: --src {args.src!r} is not a directory')
    if not osp.isfile(args.checkpoint):
        raise SystemExit(
            f'error: checkpoint {args.checkpoint!r} does not exist')
    if args.batch_size < 1:
        raise SystemExit('error: --batch-size must be >= 1')
    if args.scale <= 0:
        raise SystemExit('error: --scale must be > 0')
    if args.tile is not None and not 0 <= args.overlap < args.tile:
        raise SystemExit(f'error: --overlap must be in [0, --tile), got '
                         f'{args.overlap} for tile {args.tile}')
    cfg_options = None
    if args.cfg_options:
        from mmengine.config import DictAction
        ns = argparse.Namespace()
        DictAction(option_strings=[], dest='o')(None, ns, args.cfg_options)
        cfg_options = ns.o
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        net = build_generator(args.config, args.checkpoint, args.direction,
                              not args.no_ema, cfg_options).to(device)
    except (KeyError, ValueError, FileNotFoundError) as e:
        raise SystemExit(f'error: {e}')
    stats = translate_folder(net, args.src, args.out, args.batch_size,
                             args.tile, args.overlap, args.scale, args.ext,
                             device, args.overwrite)
    print(f'translated {stats["written"]}, skipped (already done) '
          f'{stats["skipped"]}, failed {stats["failed"]} of '
          f'{stats["total"]} images -> {args.out}')
    return stats


if __name__ == '__main__':
    sys.exit(0 if main() is not None else 1)
