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
from mmda.datasets.converted_dataset import converter_main
from mmda.datasets.gta import GTA5Dataset


def main(argv=None):
    """``ROOT [-o OUT_DIR] [--nproc N] [--size-mismatch {resize,skip}]``."""
    converter_main(GTA5Dataset, 'GTA5 root (images/, labels/)', argv)


if __name__ == '__main__':
    main()
