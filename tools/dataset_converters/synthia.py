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
from mmda.datasets.converted_dataset import converter_main
from mmda.datasets.synthia import SynthiaDataset


def main(argv=None):
    """``ROOT [-o OUT_DIR] [--nproc N] [--size-mismatch {resize,skip}]``."""
    converter_main(SynthiaDataset,
                   'SYNTHIA RAND_CITYSCAPES root (RGB/, GT/LABELS/)', argv)


if __name__ == '__main__':
    main()
