"""Convert SYNTHIA RAND_CITYSCAPES labels to Cityscapes train ids and save
class statistics.

Reads ``<synthia_path>/GT/LABELS/NNNNNNN.png`` (16-bit 3-channel PNGs, the
class id in the red channel; docs/methods.md#dataset-formats) and writes, next
to each, ``NNNNNNN_labelTrainIds.png`` (19 train ids, 255 = ignore). Into
``--out-dir`` (default: ``<synthia_path>``) it writes ``train.txt``
(converted samples; the ``ann_file`` of
``configs/_base_/datasets/synthia.py``) and the rare-class sampling
statistics ``sample_class_stats.json``, ``sample_class_stats_dict.json`` and
``samples_with_class.json`` (DAFormer's format, paths relative to
``<synthia_path>``).

Example::

    python tools/dataset_converters/synthia.py data/synthia --nproc 8
"""
import argparse

from mmda.datasets.synthia import convert_synthia


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert SYNTHIA labels to Cityscapes train ids')
    parser.add_argument(
        'synthia_path', help='SYNTHIA RAND_CITYSCAPES root (RGB/, GT/LABELS/)')
    parser.add_argument(
        '-o', '--out-dir',
        help='where the statistics and train.txt go (default: synthia_path)')
    parser.add_argument(
        '--nproc', default=1, type=int, help='number of worker processes')
    parser.add_argument(
        '--size-mismatch',
        choices=['resize', 'skip'],
        default='resize',
        help='a label whose size differs from its image: resize it '
        '(nearest) or skip the sample; both warn (default: resize)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    convert_synthia(
        args.synthia_path,
        out_dir=args.out_dir,
        nproc=args.nproc,
        on_size_mismatch=args.size_mismatch)


if __name__ == '__main__':
    main()
