"""Out-of-the-box demo: what DACS buys on the embedded toy benchmark (what
``make demo`` runs).

    python tools/demo.py [--config configs/dacs/toy_dacs.py] [--work-dir DIR]
                         [--iters N] [--seed S] [--jobs 2]
                         [--cfg-options k=v ...]

Trains two models with the same seed, model, optimiser, schedule and UDA
batches (synthetic-day source -> textured real-day target):

* **source-only**: the student of the config trained on the labelled source
  half of the batches only (:class:`mmda.models.segmentors.base_uda.BaseUDASegmentor`);
* **DACS**: the config itself.

Then both are tested on the target val split and the demo prints one table:
per-class IoU of the toy's ten classes (the nine Cityscapes classes the toy
never draws are left out), the mIoU, the gain of DACS, and the oracle figure
of ``docs/results.md`` for reference; it writes a PNG panel (target image,
ground truth, source-only prediction, DACS prediction for a few val images)
into the work dir and prints its path. With ``--jobs 2`` (default) the two
trainings run side by side, one CPU thread each; logs go to
``WORK_DIR/<method>/train.log``.

The toy data are generated into ``$MMDA_DATA_ROOT/toy`` (default
``~/.cache/mmda/toy_v1``) on first use.
"""
import argparse
import copy
import multiprocessing as mp
import os
import os.path as osp
import sys
import time

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
sys.path.insert(0, ROOT)

from mmengine.config import DictAction  # noqa: E402

METHODS = (('source_only', 'source-only'), ('dacs', 'DACS'))
#: target val mIoU of the oracle (the same model trained on the target
#: labels), docs/results.md "DACS" table (3 seeds, configs/dacs/toy_dacs.py).
ORACLE_MIOU = 62.64
DEFAULT_CONFIG = 'configs/dacs/toy_dacs.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo_toy_dacs')
    parser.add_argument('--iters', type=int, default=None,
                        help="training iterations (default: the config's)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--jobs', type=int, choices=(1, 2), default=2,
                        help='train the two models side by side (2) or one '
                        'after the other (1)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads per training')
    parser.add_argument('--num-panel', type=int, default=4,
                        help='val images in the PNG panel')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def make_cfgs(args):
    """The configs of the two runs: identical but for the model."""
    from mmda.utils.config import check_config, load_config
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg, args.config)
    if 'segmentor' not in cfg.model:
        raise ValueError(f'{args.config}: model.type is {cfg.model.type!r}; '
                         'the demo compares a UDA segmentor (with a '
                         '`segmentor`, e.g. DACS) with its source-only '
                         'student')
    if cfg.test_dataloader.dataset.get('type') != 'ToySegDataset':
        raise ValueError(
            f'{args.config}: test_dataloader.dataset.type is '
            f'{cfg.test_dataloader.dataset.get("type")!r}; the demo expects '
            "the toy benchmark's 'ToySegDataset'")
    cfg.randomness = dict(seed=args.seed)
    if args.iters is not None:
        cfg.train_cfg.max_iters = args.iters
        for s in cfg.param_scheduler:
            if s.get('end', None) is not None:
                s['end'] = args.iters
    n = cfg.train_cfg.max_iters
    cfg.train_cfg.val_interval = n + 1  # tested below, once
    cfg.train_cfg.val_begin = n + 1  # (no validation at the end of training)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=n, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=max(n // 12, 1), log_metric_by_epoch=False)
    # one process per training, one CPU thread each: no loader workers
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfgs = {}
    for method, _ in METHODS:
        c = copy.deepcopy(cfg)
        c.work_dir = osp.join(args.work_dir, method)
        c.visualizer.name = f'demo_{method}'
        if method == 'source_only':
            c.model = dict(
                type='BaseUDASegmentor',
                segmentor=copy.deepcopy(cfg.model.segmentor),
                data_preprocessor=cfg.model.get('data_preprocessor', None))
            c.custom_hooks = []  # no teacher, no mixing panels
        cfgs[method] = c
    return cfgs


def train_one(cfg_path: str, log_path: str, threads: int) -> None:
    """Train one config (run in a child process, output to ``log_path``)."""
    log = open(log_path, 'w')
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(threads)
    from mmengine.config import Config

    from mmda.registry import RUNNERS
    from mmda.utils import register_all_modules
    from mmda.utils.launch import prepare_cfg_for_device
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(cfg_path)
    prepare_cfg_for_device(cfg)
    RUNNERS.build(cfg).train()


def train_all(cfgs, args):
    """Train the runs (side by side with ``--jobs 2``); their checkpoints."""
    ctx = mp.get_context('spawn')
    jobs, ckpts = [], {}
    for method, _ in METHODS:
        cfg = cfgs[method]
        os.makedirs(cfg.work_dir, exist_ok=True)
        cfg_path = osp.join(cfg.work_dir, 'config.py')
        cfg.dump(cfg_path)
        log_path = osp.join(cfg.work_dir, 'train.log')
        ckpts[method] = osp.join(cfg.work_dir,
                                 f'iter_{cfg.train_cfg.max_iters}.pth')
        p = ctx.Process(target=train_one,
                        args=(cfg_path, log_path, args.threads))
        p.start()
        jobs.append((method, p, log_path))
        if args.jobs == 1:
            p.join()
    for method, p, log_path in jobs:
        p.join()
        if p.exitcode != 0 or not osp.isfile(ckpts[method]):
            with open(log_path) as f:
                tail = ''.join(f.readlines()[-20:])
            raise RuntimeError(f'training {method} failed (exit code '
                               f'{p.exitcode}); end of {log_path}:\n{tail}')
    return ckpts


def evaluate(cfgs, ckpts, num_panel):
    """Target-val IoU per class of each model, and the panel tiles."""
    import torch
    from mmengine.runner import Runner, load_checkpoint
    from mmseg.evaluation import IoUMetric

    from mmda.registry import MODELS
    any_cfg = cfgs[METHODS[0][0]]
    loader_cfg = copy.deepcopy(any_cfg.test_dataloader)
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader = Runner.build_dataloader(loader_cfg)
    classes = loader.dataset.metainfo['classes']
    num_classes = len(classes)
    ignore = 255
    areas, preds = {}, {}
    for method, _ in METHODS:
        model = MODELS.build(copy.deepcopy(cfgs[method].model))
        load_checkpoint(model, ckpts[method], map_location='cpu',
                        logger='silent')
        model.eval()
        inter = torch.zeros(num_classes, dtype=torch.float64)
        union = torch.zeros(num_classes, dtype=torch.float64)
        label_area = torch.zeros(num_classes, dtype=torch.float64)
        preds[method] = []
        with torch.no_grad():
            for batch in loader:
                for s in model.test_step(batch):
                    pred = s.pred_sem_seg.data.squeeze(0).cpu()
                    gt = s.gt_sem_seg.data.squeeze(0).cpu()
                    i, u, _, lab = IoUMetric.intersect_and_union(
                        pred, gt, num_classes, ignore)
                    inter += i.double()
                    union += u.double()
                    label_area += lab.double()
                    if len(preds[method]) < num_panel:
                        preds[method].append((s.img_path, gt, pred))
        areas[method] = (inter, union, label_area)
    present = [c for c in range(num_classes)
               if areas[METHODS[0][0]][2][c] > 0]
    iou = {m: (areas[m][0] / areas[m][1].clamp(min=1) * 100).numpy()
           for m, _ in METHODS}
    return classes, present, iou, preds


def format_table(classes, present, iou, oracle=None) -> str:
    import numpy as np
    src, dacs = iou['source_only'], iou['dacs']
    lines = ['| class (target val IoU) | source-only | DACS | gain |',
             '|---|---|---|---|']
    for c in present:
        lines.append(f'| {classes[c]} | {src[c]:.1f} | {dacs[c]:.1f} | '
                     f'{dacs[c] - src[c]:+.1f} |')
    m_src = float(np.mean(src[present]))
    m_dacs = float(np.mean(dacs[present]))
    lines.append(f'| **mIoU** | **{m_src:.1f}** | **{m_dacs:.1f}** | '
                 f'**{m_dacs - m_src:+.1f}** |')
    if oracle is not None:
        gap = (m_dacs - m_src) / (oracle - m_src) if oracle > m_src \
            else float('nan')
        lines += ['', f'Oracle (the same model trained on the target labels;'
                  f' docs/results.md, 3 seeds): {oracle:.1f} mIoU. This run '
                  f'of DACS closes {gap:.0%} of the source-only -> oracle '
                  'gap.']
    return '\n'.join(lines), m_src, m_dacs


def write_panel(preds, palette, path, scale=2):
    """Rows: val images; columns: target image, ground truth, source-only
    prediction, DACS prediction."""
    import cv2
    import numpy as np

    from mmda.visualization.uda_panel import colorize
    titles = ('target image', 'ground truth', 'source-only', 'DACS')
    rows = []
    for k in range(len(preds['dacs'])):
        img_path, gt, _ = preds['dacs'][k]
        img = cv2.cvtColor(cv2.imread(img_path), cv2.COLOR_BGR2RGB)
        tiles = [img, colorize(gt, palette), colorize(preds['source_only'][k][2],
                                                      palette),
                 colorize(preds['dacs'][k][2], palette)]
        tiles = [cv2.resize(t, (t.shape[1] * scale, t.shape[0] * scale),
                            interpolation=cv2.INTER_NEAREST) for t in tiles]
        tiles = [np.pad(t, ((0, 4), (0, 4), (0, 0)), constant_values=255)
                 for t in tiles]
        rows.append(np.concatenate(tiles, axis=1))
    panel = np.concatenate(rows, axis=0)
    tile_w = panel.shape[1] // len(titles)
    header = np.full((22, panel.shape[1], 3), 255, np.uint8)
    for j, title in enumerate(titles):
        cv2.putText(header, title, (j * tile_w + 4, 16),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    panel = np.concatenate([header, panel], axis=0)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
    return path


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    import torch
    torch.set_num_threads(args.threads)
    from mmda.datasets.toy import generate_toy_benchmark
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    cfgs = make_cfgs(args)
    generate_toy_benchmark()  # once, before the trainings start
    n = cfgs['dacs'].train_cfg.max_iters
    print(f'[demo] training source-only and DACS on the toy benchmark '
          f'({n} iterations each, seed {args.seed}, '
          f'{"side by side" if args.jobs == 2 else "one after the other"});'
          f' logs: {args.work_dir}/{{source_only,dacs}}/train.log', flush=True)
    ckpts = train_all(cfgs, args)
    print(f'[demo] trained in {time.time() - t0:.0f} s; testing on the '
          'target val split', flush=True)
    classes, present, iou, preds = evaluate(cfgs, ckpts, args.num_panel)
    oracle = ORACLE_MIOU if osp.normpath(args.config) == \
        osp.normpath(DEFAULT_CONFIG) and args.iters is None and \
        not args.cfg_options else None
    table, m_src, m_dacs = format_table(classes, present, iou, oracle)
    import numpy as np
    from mmseg.datasets import CityscapesDataset
    palette = np.asarray(CityscapesDataset.METAINFO['palette'], np.uint8)
    panel = write_panel(preds, palette,
                        osp.join(args.work_dir, 'demo_panel.png'))
    print(f'\nToy benchmark, source -> target ({args.config}, {n} '
          f'iterations, seed {args.seed}; the {len(present)} classes the '
          'toy draws):\n')
    print(table)
    print(f'\npanel (target image | ground truth | source-only | DACS): '
          f'{panel}')
    print(f'checkpoints: {ckpts["source_only"]}, {ckpts["dacs"]}')
    print(f'[demo] done in {time.time() - t0:.0f} s')
    return dict(source_only=m_src, dacs=m_dacs, panel=panel, ckpts=ckpts)


if __name__ == '__main__':
    main()
