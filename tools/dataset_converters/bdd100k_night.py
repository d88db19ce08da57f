"""List the night-time BDD100K images (an unlabelled target domain).

Reads ``<bdd100k_path>/labels/bdd100k_labels_images_{train,val}.json`` and
writes the names (without ``.jpg``) of the images whose
``attributes.timeofday`` is ``night`` to ``<out-dir>/night_{train,val}.txt``
(default ``--out-dir``: ``<bdd100k_path>``), the ``ann_file`` of
``BDD100KNightDataset`` (``configs/_base_/datasets/bdd100k_night.py``).
Names whose image is not in ``images/100k/{split}/`` are left out with a
warning.

Example::

    python tools/dataset_converters/bdd100k_night.py data/bdd100k
"""
import argparse

from mmda.datasets.bdd100k import (BDD100K_TIMES_OF_DAY,
                                   write_bdd100k_timeofday_split)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the BDD100K night-time image split files')
    parser.add_argument(
        'bdd100k_path', help='BDD100K root (images/100k/, labels/)')
    parser.add_argument(
        '-o', '--out-dir',
        help='where the split files go (default: bdd100k_path)')
    parser.add_argument(
        '--splits', nargs='+', default=['train', 'val'],
        help='splits to process (default: train val)')
    parser.add_argument(
        '--timeofday', default='night', choices=BDD100K_TIMES_OF_DAY,
        help='time of day to select (default: night)')
    parser.add_argument(
        '--no-check-images', action='store_true',
        help='do not drop names whose image file is missing')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    write_bdd100k_timeofday_split(
        args.bdd100k_path,
        splits=args.splits,
        timeofday=args.timeofday,
        out_dir=args.out_dir,
        check_images=not args.no_check_images)


if __name__ == '__main__':
    main()
