"""SYNTHIA RAND_CITYSCAPES (Ros et al.) as a source domain.

The subset ships 9,400 frames (760x1280) as ``RGB/NNNNNNN.png`` and
``GT/LABELS/NNNNNNN.png``; the labels are 16-bit 3-channel PNGs with the
class id in the red channel (OpenCV ``IMREAD_UNCHANGED`` loads BGR, so the
last of the three channels; PIL cannot open them) and the instance id in the
green channel (docs/methods.md#dataset-formats).
``tools/dataset_converters/synthia.py`` (:func:`convert_synthia`) writes
``GT/LABELS/NNNNNNN_labelTrainIds.png`` next to them, the class statistics
and the split file ``train.txt``; :class:`SynthiaDataset` reads that layout.

Terrain, truck and train have (almost) no pixels in SYNTHIA, so results are
reported over 16 and 13 classes: see
:class:`mmda.evaluation.subset_iou_metric.SubsetIoUMetric`
(``classes='synthia16'`` / ``'synthia13'``).
"""
import os.path as osp

import cv2
import numpy as np

from mmda.registry import DATASETS
from .converted_dataset import ConvertedLabelDataset
from .label_conversion import LabelIdMapper

SYNTHIA_LAYOUT = """\
data/synthia/
├── RGB/0000000.png ...  (RGB frames)
├── GT/LABELS/0000000.png ...  (16-bit 3-channel PNGs, class id in red)
├── GT/LABELS/0000000_labelTrainIds.png ...  (*)
├── train.txt  (*)
└── sample_class_stats.json, samples_with_class.json  (*)
(*) written by tools/dataset_converters/synthia.py"""

#: SYNTHIA class id -> Cityscapes train id. SYNTHIA RAND_CITYSCAPES ids:
#: 0 void, 1 sky, 2 building, 3 road, 4 sidewalk, 5 fence, 6 vegetation,
#: 7 pole, 8 car, 9 traffic sign, 10 pedestrian, 11 bicycle, 12 motorcycle,
#: 13 parking-slot, 14 road-work, 15 traffic light, 16 terrain, 17 rider,
#: 18 truck, 19 bus, 20 train, 21 wall, 22 lanemarking.
#: The 16 entries of docs/methods.md#dataset-formats, plus terrain (16 -> 9),
#: truck (18 -> 14) and train (20 -> 16) as in DAFormer's converter: the
#: dataset defines them although (almost) no pixel carries them, and mapping
#: them to their own class is the faithful choice (the 16/13-class metrics
#: drop those classes anyway). 0, 13, 14 and 22 map to 255.
SYNTHIA_ID_TO_TRAINID = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 16: 9, 1: 10,
    10: 11, 17: 12, 8: 13, 18: 14, 19: 15, 20: 16, 12: 17, 11: 18
}
#: SYNTHIA RAND_CITYSCAPES defines the class ids 0-22.
SYNTHIA_NUM_IDS = 23

SYNTHIA_MAPPER = LabelIdMapper(SYNTHIA_ID_TO_TRAINID, SYNTHIA_NUM_IDS,
                               'SYNTHIA')


def read_synthia_label(path: str) -> np.ndarray:
    """Read a SYNTHIA label PNG as a (H, W) uint16 array of class ids.

    The class id is the red channel, i.e. channel 2 of OpenCV's BGR order.
    """
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise ValueError(f'{path}: OpenCV cannot read this file (expected a '
                         '16-bit 3-channel PNG of SYNTHIA class ids)')
    if label.ndim != 3 or label.shape[2] < 3 or label.dtype != np.uint16:
        raise ValueError(
            f'{path}: expected a 16-bit 3-channel PNG (SYNTHIA '
            'RAND_CITYSCAPES GT/LABELS, class id in the red channel), got '
            f'dtype {label.dtype} and shape {label.shape}')
    return np.ascontiguousarray(label[:, :, 2])


@DATASETS.register_module()
class SynthiaDataset(ConvertedLabelDataset):
    """SYNTHIA RAND_CITYSCAPES with labels converted to 19 train ids.

    Layout (see :data:`SYNTHIA_LAYOUT`): images ``RGB/NNNNNNN.png``, labels
    ``GT/LABELS/NNNNNNN_labelTrainIds.png`` written by
    ``tools/dataset_converters/synthia.py`` (:func:`convert_synthia`).
    ``ann_file='train.txt'`` (written by the converter) lists the converted
    samples; ``ann_file=''`` uses every image. Arguments: see
    :class:`~.converted_dataset.ConvertedLabelDataset` (``data_prefix``
    defaults to ``dict(img_path='RGB', seg_map_path='GT/LABELS')``).
    """
    DATASET_NAME = 'SYNTHIA'
    LAYOUT = SYNTHIA_LAYOUT
    CONVERTER = osp.join('tools', 'dataset_converters', 'synthia.py')
    DEFAULT_DATA_PREFIX = dict(img_path='RGB', seg_map_path='GT/LABELS')
    MAPPER = SYNTHIA_MAPPER
    read_label = staticmethod(read_synthia_label)


#: Convert SYNTHIA labels to train ids and save class statistics
#: (:meth:`~.converted_dataset.ConvertedLabelDataset.convert`).
convert_synthia = SynthiaDataset.convert
