"""Convert GTA5 labels to Cityscapes train ids and save class statistics.

Reads ``<gta_path>/labels/NNNNN.png`` (8-bit palette PNGs of Cityscapes label
ids 0-33, docs/methods.md#dataset-formats) and writes, next to each,
``NNNNN_labelTrainIds.png`` (19 train ids, 255 = ignore). Into ``--out-dir``
(default: ``<gta_path>``) it writes ``train.txt`` (converted samples; the
``ann_file`` of ``configs/_base_/datasets/gta.py``) and the rare-class
sampling statistics ``sample_class_stats.json``,
``sample_class_stats_dict.json`` and ``samples_with_class.json`` (DAFormer's
format, paths relative to ``<gta_path>``).

Example::

    python tools/dataset_converters/gta.py data/gta --nproc 8
"""
import argparse

from mmda.datasets.gta import convert_gta5


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert GTA5 labels to Cityscapes train ids')
    parser.add_argument('gta_path', help='GTA5 root (images/, labels/)')
    parser.add_argument(
        '-o', '--out-dir',
        help='where the statistics and train.txt go (default: gta_path)')
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
    convert_gta5(
        args.gta_path,
        out_dir=args.out_dir,
        nproc=args.nproc,
        on_size_mismatch=args.size_mismatch)


if __name__ == '__main__':
    main()
