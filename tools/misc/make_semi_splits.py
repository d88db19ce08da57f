#!/usr/bin/env python
"""Write seeded labelled / unlabelled splits for semi-supervised ClassMix.

ClassMix (Olsson et al.; DACS thesis §3.2, §4.1.2) trains on a labelled
fraction of a dataset and uses the rest as unlabelled images. This tool
draws the labelled subset with a seeded permutation of the sorted training
list and writes two ``ann_file`` lists (one sample name per line, without
suffix, as mmseg's ``BaseSegDataset`` reads them)::

    {root}/splits/{a}-{b}_seed{seed}_labeled.txt
    {root}/splits/{a}-{b}_seed{seed}_unlabeled.txt

Datasets:

* ``cityscapes``: the 2975 images of ``leftImg8bit/train/CITY/*`` (names
  ``CITY/CITY_xxxxxx_yyyyyy``). Labelled counts are ``ceil(N * fraction)``:
  1/30 -> 100, 1/8 -> 372, 1/4 -> 744 (thesis Table 4.1).
* ``voc``: the names listed in ``ImageSets/Segmentation/aug.txt`` (the 10582
  VOC+SBD training images written by mmseg's ``voc_aug.py`` converter; use
  ``--list`` for another list). 1/100 -> 106, 1/50 -> 212, 1/20 -> 530,
  1/8 -> 1323, 1/4 -> 2646.

Examples::

    python tools/misc/make_semi_splits.py cityscapes data/cityscapes \
        --fractions 1/30 1/8 1/4 --seed 0
    python tools/misc/make_semi_splits.py voc data/VOCdevkit/VOC2012 \
        --fractions 1/100 1/50 1/20 1/8 1/4 --seed 0
"""
import argparse
import math
import os
import os.path as osp
import sys
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

CITYSCAPES_SUFFIX = '_leftImg8bit.png'
VOC_DEFAULT_LIST = 'ImageSets/Segmentation/aug.txt'


def list_cityscapes(root: str) -> List[str]:
    """Sorted ``CITY/name`` of the Cityscapes training images."""
    img_dir = osp.join(root, 'leftImg8bit', 'train')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(
            f'Cityscapes training images not found: {img_dir!r} (expected '
            f'{root}/leftImg8bit/train/CITY/*{CITYSCAPES_SUFFIX})')
    names = []
    for city in sorted(os.listdir(img_dir)):
        cdir = osp.join(img_dir, city)
        if not osp.isdir(cdir):
            continue
        for f in sorted(os.listdir(cdir)):
            if f.endswith(CITYSCAPES_SUFFIX):
                names.append(f'{city}/{f[:-len(CITYSCAPES_SUFFIX)]}')
    if not names:
        raise FileNotFoundError(f'no *{CITYSCAPES_SUFFIX} images in '
                                f'{img_dir!r}')
    return names


def list_voc(root: str, list_file: Optional[str] = None) -> List[str]:
    """Sorted, de-duplicated names of a VOC split list."""
    path = osp.join(root, list_file or VOC_DEFAULT_LIST)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'VOC training list not found: {path!r} (run mmseg\'s '
            'tools/dataset_converters/voc_aug.py to write '
            f'{VOC_DEFAULT_LIST}, or pass --list)')
    with open(path) as f:
        names = sorted({line.strip() for line in f if line.strip()})
    if not names:
        raise ValueError(f'{path!r} lists no image')
    return names


def parse_fraction(text: str) -> Fraction:
    """'1/8' or '0.125' -> Fraction in (0, 1]."""
    try:
        frac = Fraction(text).limit_denominator(10000)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f'invalid fraction {text!r} (expected e.g. 1/8)')
    if not 0 < frac <= 1:
        raise ValueError(f'fraction {text!r} must be in (0, 1]')
    return frac


def fraction_tag(frac: Fraction) -> str:
    """Fraction(1, 8) -> '1-8' (file-name friendly)."""
    return f'{frac.numerator}-{frac.denominator}'


def num_labeled(n: int, frac: Fraction) -> int:
    """``ceil(n * frac)`` (Cityscapes 1/30 of 2975 -> 100, thesis)."""
    return max(1, math.ceil(n * frac - 1e-9))


def make_split(names: Sequence[str], n_labeled: int,
               seed: int) -> Tuple[List[str], List[str]]:
    """Seeded labelled/unlabelled partition of ``names``.

    The first ``n_labeled`` entries of a ``numpy.random.default_rng(seed)``
    permutation of the sorted names are labelled; both lists are returned
    sorted.
    """
    names = sorted(names)
    if not 0 < n_labeled <= len(names):
        raise ValueError(f'n_labeled must be in [1, {len(names)}], got '
                         f'{n_labeled}')
    perm = np.random.default_rng(seed).permutation(len(names))
    lab = sorted(names[i] for i in perm[:n_labeled])
    unl = sorted(names[i] for i in perm[n_labeled:])
    return lab, unl


def write_splits(root: str, names: Sequence[str],
                 fractions: Sequence[Fraction], seed: int,
                 out_dir: Optional[str] = None) -> Dict[str, Tuple[str, str]]:
    """Write the split files; returns ``{tag: (labeled, unlabeled)}``."""
    out_dir = out_dir or osp.join(root, 'splits')
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for frac in fractions:
        n = num_labeled(len(names), frac)
        lab, unl = make_split(names, n, seed)
        tag = f'{fraction_tag(frac)}_seed{seed}'
        paths = (osp.join(out_dir, f'{tag}_labeled.txt'),
                 osp.join(out_dir, f'{tag}_unlabeled.txt'))
        for path, items in zip(paths, (lab, unl)):
            with open(path, 'w') as f:
                f.write('\n'.join(items) + ('\n' if items else ''))
        written[tag] = paths
        print(f'{tag}: {len(lab)} labelled, {len(unl)} unlabelled -> '
              f'{paths[0]}, {paths[1]}')
    return written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dataset', choices=['cityscapes', 'voc'])
    parser.add_argument('root', help='dataset root, e.g. data/cityscapes')
    parser.add_argument('--fractions', nargs='+', default=None,
                        help='labelled fractions (cityscapes default: 1/30 '
                        '1/8 1/4; voc: 1/100 1/50 1/20 1/8 1/4)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--list', default=None,
                        help=f'voc: list of training names relative to root '
                        f'(default {VOC_DEFAULT_LIST})')
    parser.add_argument('--out-dir', default=None,
                        help='output folder (default ROOT/splits)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.dataset == 'cityscapes':
        names = list_cityscapes(args.root)
        default = ['1/30', '1/8', '1/4']
    else:
        names = list_voc(args.root, args.list)
        default = ['1/100', '1/50', '1/20', '1/8', '1/4']
    fractions = [parse_fraction(f) for f in (args.fractions or default)]
    write_splits(args.root, names, fractions, args.seed, args.out_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
