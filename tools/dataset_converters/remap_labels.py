"""Rewrite a folder of label PNGs from a dataset's own ids to shared class ids.

    python tools/dataset_converters/remap_labels.py LABEL_DIR OUT_DIR \\
        --map 0:0 1:1 2:2 6:255 [--ignore-index 255] [--suffix .png]

Every ``--map OLD:NEW`` entry sends label id OLD to class index NEW of the
shared class list (``NEW = 255``, the ignore index, drops a class the other
domain does not have). Pixels equal to ``--ignore-index`` stay ignored. Any
other id found in a label stops the conversion with an error naming the file
and the ids, so a forgotten class cannot silently become class 0 (or
another class). The folder structure below LABEL_DIR is kept; see
docs/own_datasets.md.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List

import numpy as np
from PIL import Image


def parse_map(pairs: List[str], ignore_index: int) -> Dict[int, int]:
    mapping = {}
    for pair in pairs:
        try:
            old, new = (int(x) for x in pair.split(':'))
        except ValueError:
            raise SystemExit(f'--map: expected OLD:NEW integer pairs such as '
                             f'3:2, got {pair!r}')
        if not (0 <= old <= 255 and 0 <= new <= 255):
            raise SystemExit(f'--map {pair}: ids must be in [0, 255]')
        if old in mapping and mapping[old] != new:
            raise SystemExit(f'--map: id {old} mapped twice '
                             f'({mapping[old]} and {new})')
        mapping[old] = new
    if ignore_index in mapping and mapping[ignore_index] != ignore_index:
        raise SystemExit(f'--map: the ignore index {ignore_index} cannot be '
                         'remapped')
    return mapping


def remap_file(src: str, dst: str, lut: np.ndarray) -> None:
    label = np.asarray(Image.open(src))
    if label.ndim != 2:
        raise ValueError(f'{src}: expected a single-channel label PNG of '
                         f'class ids, got shape {label.shape}')
    out = lut[label.astype(np.int64)]
    if (out < 0).any():
        bad = np.unique(label[out < 0]).tolist()
        raise ValueError(f'{src}: label ids {bad} are not in --map (and are '
                         'not the ignore index); add OLD:NEW for them, or '
                         'OLD:255 to ignore them')
    os.makedirs(osp.dirname(dst) or '.', exist_ok=True)
    Image.fromarray(out.astype(np.uint8)).save(dst)


def remap_dir(label_dir: str, out_dir: str, mapping: Dict[int, int],
              ignore_index: int = 255, suffix: str = '.png') -> int:
    """Remap every ``*suffix`` file below ``label_dir``; returns the count."""
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'label folder {label_dir!r} does not exist')
    lut = np.full(256, -1, np.int64)
    for old, new in mapping.items():
        lut[old] = new
    lut[ignore_index] = ignore_index
    n = 0
    for dirpath, _, files in os.walk(label_dir):
        for name in sorted(files):
            if name.endswith(suffix):
                src = osp.join(dirpath, name)
                remap_file(src, osp.join(out_dir,
                                         osp.relpath(src, label_dir)), lut)
                n += 1
    if n == 0:
        raise FileNotFoundError(f'no *{suffix} labels below {label_dir!r}')
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('label_dir')
    p.add_argument('out_dir')
    p.add_argument('--map', nargs='+', required=True, metavar='OLD:NEW')
    p.add_argument('--ignore-index', type=int, default=255)
    p.add_argument('--suffix', default='.png')
    args = p.parse_args(argv)
    mapping = parse_map(args.map, args.ignore_index)
    n = remap_dir(args.label_dir, args.out_dir, mapping, args.ignore_index,
                  args.suffix)
    print(f'{n} labels written to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
