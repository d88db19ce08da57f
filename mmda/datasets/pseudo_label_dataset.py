"""Pseudo-labelled examples written by a self-training round.

:class:`~mmda.engine.loops.self_training_loop.SelfTrainingLoop` writes, for
each round, an ordinary image/label dataset into the work dir::

    {work_dir}/sie/round_{r}/
    ├── images/{k:06d}_{j}.png    upsampled patch j of selected image k
    │                             (a normal colour PNG)
    ├── labels/{k:06d}_{j}.png    uint8 train ids, 255 = ignored
    ├── examples.txt              the sample names, one per line
    └── round.json                selection, thresholds and settings

:class:`PseudoLabelDataset` reads such a folder with the 19 Cityscapes
classes; it is a plain :class:`~mmseg.datasets.BaseSegDataset`, so any mmseg
pipeline applies.
"""
from mmda.registry import DATASETS

from .utils import CheckedSegDataset


@DATASETS.register_module()
class PseudoLabelDataset(CheckedSegDataset):
    """Image/label pairs with pseudo-labels (Cityscapes train ids).

    Args:
        data_root (str): the round folder (``.../round_{r}``).
        ann_file (str): list of sample names. Defaults to 'examples.txt'.
        **kwargs: other :class:`~mmseg.datasets.BaseSegDataset` arguments
            (``pipeline``, ``indices``, ...).
    """
    DATASET_NAME = 'Pseudo-label examples'
    LAYOUT = ('round_R/\n'
              '├── images/NAME.png\n'
              '├── labels/NAME.png   (uint8 train ids, 255 = ignore)\n'
              '└── examples.txt      (one NAME per line)')
    DEFAULT_DATA_PREFIX = dict(img_path='images', seg_map_path='labels')

    def __init__(self,
                 ann_file: str = 'examples.txt',
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
