"""Shared helpers of mmda's real-dataset classes.

* :data:`CITYSCAPES_METAINFO` - the 19 Cityscapes train-id classes used by
  every dataset of mmda (docs/methods.md#classes: 19 Cityscapes
  train ids, 255 = ignore).
* :func:`check_dir` / :func:`check_file` / :func:`check_files_exist` -
  errors naming the missing path and the expected layout.
* :class:`CheckedSegDataset` - ``BaseSegDataset`` with these checks, the
  base of the real datasets.

The label conversion of the dataset converters (id mapping, class
statistics, the conversion driver) is :mod:`mmda.datasets.label_conversion`.
"""
import copy
import os.path as osp
from typing import List, Optional, Sequence

from mmseg.datasets import BaseSegDataset, CityscapesDataset

#: Cityscapes 19-class meta information (mmseg's ``CityscapesDataset``).
CITYSCAPES_METAINFO = copy.deepcopy(CityscapesDataset.METAINFO)

NUM_CLASSES = 19
IGNORE_INDEX = 255
#: Suffix of converted label maps (as mmseg's Cityscapes converter writes).
TRAIN_ID_SUFFIX = '_labelTrainIds.png'
#: Split file written by the converters (names of the converted samples).
DEFAULT_SPLIT_FILE = 'train.txt'


# --------------------------------------------------------------------------
# Path checks
# --------------------------------------------------------------------------
def check_dir(path: str, what: str, layout: str) -> None:
    """Raise ``FileNotFoundError`` if ``path`` is not a directory.

    Args:
        path (str): The directory that must exist.
        what (str): What the directory holds, e.g. ``'GTA5 images'``.
        layout (str): The expected dataset layout, shown in the error.
    """
    if not osp.isdir(path):
        raise FileNotFoundError(
            f'{what}: directory {path!r} does not exist. Expected layout:\n'
            f'{layout}')


def check_file(path: str, what: str, hint: str) -> None:
    """Raise ``FileNotFoundError`` if ``path`` is not a file.

    Args:
        path (str): The file that must exist.
        what (str): What the file is, e.g. ``'GTA5 split file'``.
        hint (str): How to obtain it, shown in the error.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what}: file {path!r} does not exist. '
                                f'{hint}')


def check_files_exist(paths: Sequence[str], what: str, hint: str,
                      max_shown: int = 5) -> None:
    """Raise ``FileNotFoundError`` listing the first missing ``paths``.

    Args:
        paths (Sequence[str]): Files that must exist.
        what (str): What the files are (shown in the error).
        hint (str): How to obtain them (shown in the error).
        max_shown (int): How many missing paths to list. Defaults to 5.
    """
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        shown = ', '.join(repr(p) for p in missing[:max_shown])
        more = f' (and {len(missing) - max_shown} more)' \
            if len(missing) > max_shown else ''
        raise FileNotFoundError(
            f'{len(missing)} of {len(paths)} {what} are missing: '
            f'{shown}{more}. {hint}')


# --------------------------------------------------------------------------
# Dataset base class
# --------------------------------------------------------------------------
class CheckedSegDataset(BaseSegDataset):
    """``BaseSegDataset`` with the checks mmda's real datasets share.

    Before listing samples it checks that the image (and label) folders and
    the split file (``ann_file``) exist and raises ``FileNotFoundError``
    naming the path, the expected layout (:attr:`LAYOUT`) and the converter
    to run (:attr:`CONVERTER`). After listing, every sample must have its
    label map (checked for local files only), and at least one sample must
    be found.

    Subclasses set :attr:`DATASET_NAME`, :attr:`LAYOUT`, :attr:`CONVERTER`
    and :attr:`DEFAULT_DATA_PREFIX` (used when ``data_prefix`` is not given).
    """
    METAINFO = CITYSCAPES_METAINFO
    DATASET_NAME = 'dataset'
    LAYOUT = ''
    CONVERTER = ''
    DEFAULT_DATA_PREFIX: dict = dict(img_path='', seg_map_path='')

    def __init__(self, data_prefix: Optional[dict] = None, **kwargs) -> None:
        if data_prefix is None:
            data_prefix = dict(self.DEFAULT_DATA_PREFIX)
        super().__init__(data_prefix=data_prefix, **kwargs)

    def _is_local(self) -> bool:
        return not self.backend_args

    def load_data_list(self) -> List[dict]:
        """List the samples (mmseg's logic) after checking the layout."""
        img_dir = self.data_prefix.get('img_path', None)
        ann_dir = self.data_prefix.get('seg_map_path', None)
        converter = (f' Run `python {self.CONVERTER} <dataset root>` first.'
                     if self.CONVERTER else '')
        if self._is_local():
            check_dir(img_dir, f'{self.DATASET_NAME} images', self.LAYOUT)
            if ann_dir:
                check_dir(ann_dir, f'{self.DATASET_NAME} labels', self.LAYOUT)
            if self.ann_file and not osp.isdir(self.ann_file):
                check_file(
                    self.ann_file,
                    f'{self.DATASET_NAME} split file (ann_file)',
                    f'Expected a text file with one sample name (without the '
                    f'suffix {self.img_suffix!r}) per line.{converter} Or set '
                    f"ann_file='' to use every image in {img_dir!r}.")
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: no images with suffix '
                f'{self.img_suffix!r} found in {img_dir!r} (ann_file='
                f'{self.ann_file!r}). Expected layout:\n{self.LAYOUT}')
        if self._is_local():
            if ann_dir:
                check_files_exist(
                    [d['seg_map_path'] for d in data_list],
                    f'{self.DATASET_NAME} label maps '
                    f'(*{self.seg_map_suffix})', converter.strip())
            if self.ann_file:
                check_files_exist([d['img_path'] for d in data_list],
                                  f'{self.DATASET_NAME} images listed in '
                                  f'{self.ann_file!r}',
                                  f'Expected layout:\n{self.LAYOUT}')
        return data_list
