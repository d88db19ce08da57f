"""The datasets whose original labels a converter maps to train ids (GTA5,
SYNTHIA): :class:`ConvertedLabelDataset` holds their folders, suffixes and
``convert`` (:func:`~.label_conversion.convert_label_pairs`) once, and
:func:`converter_main` is the command line of their
``tools/dataset_converters`` scripts."""
import argparse
import os.path as osp
from typing import Callable, List, Optional, Sequence

import numpy as np

from .label_conversion import LabelIdMapper, convert_label_pairs
from .utils import DEFAULT_SPLIT_FILE, TRAIN_ID_SUFFIX, CheckedSegDataset


class ConvertedLabelDataset(CheckedSegDataset):
    """A dataset of ``{img_path}/X.png`` images whose original labels
    ``{seg_map_path}/X.png`` the converter (:meth:`convert`, run by
    ``tools/dataset_converters/<name>.py``) maps to
    ``{seg_map_path}/X_labelTrainIds.png``, the labels read in training.

    Subclasses set, besides :class:`~.utils.CheckedSegDataset`'s attributes
    (``DEFAULT_DATA_PREFIX`` names both folders), :attr:`MAPPER` and
    :attr:`read_label` (a ``staticmethod`` of a module-level function, so
    that it pickles for ``nproc > 1``).

    Args:
        img_suffix (str): Defaults to ``'.png'``.
        seg_map_suffix (str): Defaults to ``'_labelTrainIds.png'``.
        **kwargs: Other ``CheckedSegDataset`` / ``BaseSegDataset`` arguments.
    """
    MAPPER: LabelIdMapper
    read_label: Callable[[str], np.ndarray]

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = TRAIN_ID_SUFFIX,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @classmethod
    def convert(cls,
                root: str,
                out_dir: Optional[str] = None,
                nproc: int = 1,
                on_size_mismatch: str = 'resize',
                split_file: str = DEFAULT_SPLIT_FILE) -> List[dict]:
        """Convert the labels to train ids and save class statistics.

        Args:
            root (str): Dataset root holding the two folders of
                ``DEFAULT_DATA_PREFIX``.
            out_dir (str, optional): Where ``sample_class_stats.json``,
                ``samples_with_class.json`` and the split file go. Defaults
                to ``root``.
            nproc (int): Worker processes. Defaults to 1.
            on_size_mismatch (str): A label whose size differs from its
                image (a few GTA5 frames): ``'resize'`` it (nearest) or
                ``'skip'`` the sample, both with a warning. Defaults to
                ``'resize'``.
            split_file (str): Split file name. Defaults to ``'train.txt'``.

        Returns:
            list[dict]: Per-sample class statistics.
        """
        prefix = cls.DEFAULT_DATA_PREFIX
        return convert_label_pairs(
            root,
            img_dir=osp.join(*prefix['img_path'].split('/')),
            label_dir=osp.join(*prefix['seg_map_path'].split('/')),
            read_label=cls.read_label,
            mapper=cls.MAPPER,
            layout=cls.LAYOUT,
            out_dir=out_dir,
            nproc=nproc,
            on_size_mismatch=on_size_mismatch,
            split_file=split_file)


def converter_main(dataset: type, root_help: str,
                   argv: Optional[Sequence[str]] = None) -> List[dict]:
    """The command line of a ``tools/dataset_converters`` script of a
    :class:`ConvertedLabelDataset`: ``ROOT [-o OUT_DIR] [--nproc N]
    [--size-mismatch {resize,skip}]``, then ``dataset.convert``."""
    name = dataset.MAPPER.dataset
    parser = argparse.ArgumentParser(
        description=f'Convert {name} labels to Cityscapes train ids')
    parser.add_argument('root', help=root_help)
    parser.add_argument(
        '-o', '--out-dir',
        help='where the statistics and train.txt go (default: root)')
    parser.add_argument(
        '--nproc', default=1, type=int, help='number of worker processes')
    parser.add_argument(
        '--size-mismatch',
        choices=['resize', 'skip'],
        default='resize',
        help='a label whose size differs from its image: resize it '
        '(nearest) or skip the sample; both warn (default: resize)')
    args = parser.parse_args(argv)
    return dataset.convert(
        args.root,
        out_dir=args.out_dir,
        nproc=args.nproc,
        on_size_mismatch=args.size_mismatch)
