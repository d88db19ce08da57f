"""GTA5 (Richter et al., "Playing for Data") as a source domain.

The dataset ships 24,966 frames as ``images/NNNNN.png`` and
``labels/NNNNN.png``; the labels are 8-bit palette PNGs whose pixel values
are Cityscapes *label ids* 0-33 (docs/methods.md#dataset-formats).
``tools/dataset_converters/gta.py`` (:func:`convert_gta5`) writes
``labels/NNNNN_labelTrainIds.png`` next to them (mmseg's Cityscapes
converter convention), the class statistics for rare-class sampling and the
split file ``train.txt``; :class:`GTA5Dataset` reads that layout.
"""
import os.path as osp

import numpy as np
from PIL import Image

from mmda.registry import DATASETS
from .converted_dataset import ConvertedLabelDataset
from .label_conversion import LabelIdMapper

GTA5_LAYOUT = """\
data/gta/
├── images/00001.png ...  (RGB frames)
├── labels/00001.png ...  (8-bit palette PNGs of label ids 0-33)
├── labels/00001_labelTrainIds.png ...  (*)
├── train.txt  (*)
└── sample_class_stats.json, samples_with_class.json  (*)
(*) written by tools/dataset_converters/gta.py"""

#: Cityscapes label id -> train id (cityscapesscripts' ``labels.py``; the
#: same table as docs/methods.md#dataset-formats). Every other id of 0-33 is a
#: void / unevaluated class and maps to 255.
GTA5_ID_TO_TRAINID = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18
}
#: GTA5 labels use the 34 Cityscapes label ids 0-33.
GTA5_NUM_IDS = 34

GTA5_MAPPER = LabelIdMapper(GTA5_ID_TO_TRAINID, GTA5_NUM_IDS, 'GTA5')


def read_gta5_label(path: str) -> np.ndarray:
    """Read a GTA5 label PNG as a (H, W) uint8 array of label ids.

    The files are palette ('P') PNGs: the pixel *indices* are the label ids
    (OpenCV would return the palette colours instead, so PIL is used).
    Grayscale ('L') PNGs of label ids are accepted too.
    """
    with Image.open(path) as img:
        if img.mode not in ('P', 'L'):
            raise ValueError(
                f'{path}: expected an 8-bit palette (mode P) or grayscale '
                f'(mode L) PNG of Cityscapes label ids, got mode {img.mode}')
        return np.array(img)


@DATASETS.register_module()
class GTA5Dataset(ConvertedLabelDataset):
    """GTA5 with labels converted to the 19 Cityscapes train ids.

    Layout (see :data:`GTA5_LAYOUT`): images ``images/NNNNN.png``, labels
    ``labels/NNNNN_labelTrainIds.png`` written by
    ``tools/dataset_converters/gta.py`` (:func:`convert_gta5`).
    ``ann_file='train.txt'`` (written by the converter) lists the converted
    samples, which leaves out samples skipped for a size mismatch;
    ``ann_file=''`` uses every image. Arguments: see
    :class:`~.converted_dataset.ConvertedLabelDataset` (``data_prefix``
    defaults to ``dict(img_path='images', seg_map_path='labels')``).
    """
    DATASET_NAME = 'GTA5'
    LAYOUT = GTA5_LAYOUT
    CONVERTER = osp.join('tools', 'dataset_converters', 'gta.py')
    DEFAULT_DATA_PREFIX = dict(img_path='images', seg_map_path='labels')
    MAPPER = GTA5_MAPPER
    read_label = staticmethod(read_gta5_label)


#: Convert GTA5 labels to train ids and save class statistics
#: (:meth:`~.converted_dataset.ConvertedLabelDataset.convert`).
convert_gta5 = GTA5Dataset.convert
