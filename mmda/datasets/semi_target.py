# Copyright (c) mmda contributors. All rights reserved.
"""Semi-supervised domain adaptation data: source + T_L + T_U (ASS, §3).

ASS (Wang et al. 2020) trains on all labelled source images ``S``, a small
randomly chosen labelled subset ``T_L`` of the target training set
(50/100/200/500/1000/all Cityscapes images in Table 1) and the unlabelled
rest ``T_U``.

* :func:`select_labeled_indices` chooses ``T_L`` from a split file or as a
  seeded random subset of a given size;
* :class:`SemiTargetUDADataset` yields one source, one ``T_L`` and one
  ``T_U`` sample per item (``inputs`` / ``data_samples``,
  ``labeled_inputs`` / ``labeled_data_samples``, ``target_inputs`` /
  ``target_data_samples``); it extends :class:`UDADataset` (source + T_U,
  optional rare-class sampling) with the labelled-target stream;
* :class:`LabeledSubsetDataset` is ``T_L`` alone (the "oracle" of Table 1,
  trained only on the labelled target images);
* :class:`mmda.engine.hooks.SaveLabeledSplitHook` writes the chosen ``T_L``
  to the work dir (``labeled_split.txt``) so that a run can be repeated
  exactly by passing that file as ``split_file``.

Split files hold one image path per line, relative to the dataset's image
folder (``data_prefix['img_path']``), e.g.
``aachen/aachen_000000_000019_leftImg8bit.png``; blank lines and lines
starting with ``#`` are ignored.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from torch.utils.data import Dataset

from mmda.registry import DATASETS
from .uda_dataset import UDADataset, build_dataset

#: Labelled-subset sizes of ASS Table 1 (Cityscapes has 2975 train images).
ASS_LABELED_COUNTS = (50, 100, 200, 500, 1000, 'all')


def sample_keys(dataset) -> List[str]:
    """Identify each sample by its image path relative to the image folder.

    Falls back to the file name when the dataset has no
    ``data_prefix['img_path']``.
    """
    if not hasattr(dataset, 'get_data_info'):
        raise TypeError(f'{type(dataset).__name__} has no get_data_info(); '
                        'a labelled split needs an mmengine BaseDataset')
    prefix = getattr(dataset, 'data_prefix', {}) or {}
    img_dir = prefix.get('img_path', None)
    keys = []
    for i in range(len(dataset)):
        path = dataset.get_data_info(i)['img_path']
        if img_dir:
            rel = osp.relpath(path, img_dir)
            keys.append(rel.replace(os.sep, '/'))
        else:
            keys.append(osp.basename(path))
    return keys


def read_split_file(path: str) -> List[str]:
    """Entries of a split file (blank lines and ``#`` comments skipped)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'labelled split file not found: {path!r} '
                                '(one image path per line, relative to the '
                                "target dataset's image folder)")
    with open(path) as f:
        entries = [line.strip() for line in f]
    return [e for e in entries if e and not e.startswith('#')]


def select_labeled_indices(dataset,
                           num_labeled: Union[int, str, None] = None,
                           split_file: Optional[str] = None,
                           seed: int = 0) -> List[int]:
    """Choose the labelled target subset ``T_L``.

    Args:
        dataset: the full target training set (mmengine BaseDataset).
        num_labeled (int | str, optional): size of a seeded random subset,
            or ``'all'``. Ignored when ``split_file`` is given.
        split_file (str, optional): file listing the labelled images (see
            the module docstring); entries are matched against the relative
            image paths, or against the file names when unique.
        seed (int): seed of the random subset. Defaults to 0. The subset is
            the first ``num_labeled`` entries of a permutation of the sorted
            sample list by ``np.random.default_rng(seed)``, so a larger count
            with the same seed contains the smaller ones.

    Returns:
        list[int]: sorted indices into ``dataset``.
    """
    n = len(dataset)
    if split_file is not None:
        entries = read_split_file(split_file)
        keys = sample_keys(dataset)
        by_key = {k: i for i, k in enumerate(keys)}
        by_name = {}
        for i, k in enumerate(keys):
            by_name.setdefault(osp.basename(k), []).append(i)
        chosen, missing, ambiguous = set(), [], []
        for e in entries:
            e = e.replace(os.sep, '/')
            if e in by_key:
                chosen.add(by_key[e])
            elif len(by_name.get(osp.basename(e), [])) == 1:
                chosen.add(by_name[osp.basename(e)][0])
            elif osp.basename(e) in by_name:
                ambiguous.append(e)
            else:
                missing.append(e)
        if missing or ambiguous:
            raise ValueError(
                f'split_file {split_file!r}: {len(missing)} entries not in '
                f'the target dataset (first: {missing[:3]}) and '
                f'{len(ambiguous)} ambiguous file names (first: '
                f'{ambiguous[:3]}); entries must be image paths relative to '
                'the image folder, e.g. '
                f'{keys[0] if keys else "city/x_leftImg8bit.png"!r}')
        return sorted(chosen)
    if num_labeled is None:
        raise KeyError('set `num_labeled` (an int or "all") or `split_file` '
                       'to choose the labelled target images')
    if isinstance(num_labeled, str):
        if num_labeled != 'all':
            raise ValueError(f'num_labeled must be an int >= 0 or "all", got '
                             f'{num_labeled!r}')
        return list(range(n))
    num_labeled = int(num_labeled)
    if not 0 <= num_labeled <= n:
        raise ValueError(f'num_labeled={num_labeled} but the target dataset '
                         f'has {n} images (use "all" for every image)')
    perm = np.random.default_rng(int(seed)).permutation(n)
    return sorted(int(i) for i in perm[:num_labeled])


def write_split_file(path: str, keys: Sequence[str], header: str = '') -> None:
    """Write a split file atomically (readable by :func:`read_split_file`)."""
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        for line in header.splitlines():
            f.write(f'# {line}\n')
        for k in keys:
            f.write(f'{k}\n')
    os.replace(tmp, path)


def _split_target(target_cfg, name: str, num_labeled, split_file, seed
                  ) -> Tuple[object, List[int], List[str]]:
    """Build the full target set and choose T_L; returns (full, idx, keys)."""
    full = build_dataset(target_cfg, name)
    if hasattr(full, 'full_init'):
        full.full_init()
    if len(full) == 0:
        raise ValueError(f'{name}: the target dataset '
                         f'{type(full).__name__} is empty')
    idx = select_labeled_indices(full, num_labeled, split_file, seed)
    keys = sample_keys(full)
    return full, idx, [keys[i] for i in idx]


def _subset(target_cfg, full, indices: List[int]):
    """A dataset of ``full`` restricted to ``indices`` (None when empty).

    Built again from the config with mmengine's ``indices`` argument when
    possible (``BaseDataset.get_subset`` shares a deepcopy memo between
    calls), else through ``get_subset``.
    """
    if len(indices) == 0:
        return None
    if len(indices) == len(full) and list(indices) == list(range(len(full))):
        return full
    if isinstance(target_cfg, dict):
        cfg = dict(target_cfg)
        cfg['indices'] = list(indices)
        ds = DATASETS.build(cfg)
        return ds
    if isinstance(full, BaseDataset):
        return full.get_subset(list(indices))
    raise TypeError(f'cannot take a subset of {type(full).__name__}')


class _SplitMixin:
    """The labelled split (keys, indices, description) and ``save_split``,
    shared by the datasets that hold one."""

    labeled_keys: List[str]
    split_info: str

    def _set_split(self, keys: List[str], idx: List[int], total: int,
                   split_file: Optional[str], num_labeled,
                   split_seed: int) -> None:
        self.labeled_keys = keys
        self.labeled_indices = idx
        self.split_info = (
            f'labelled target split (mmda {type(self).__name__}): '
            f'{len(idx)} of {total} images; '
            + (f'split_file={split_file}' if split_file is not None else
               f'num_labeled={num_labeled}, split_seed={split_seed}'))

    def save_split(self, path: str) -> None:
        """Write the labelled image list to ``path`` (a split file)."""
        write_split_file(path, self.labeled_keys, self.split_info)


@DATASETS.register_module()
class SemiTargetUDADataset(_SplitMixin, UDADataset):
    """Source + labelled target (T_L) + unlabelled target (T_U) samples.

    Each item is::

        dict(inputs=..., data_samples=...,                  # source
             labeled_inputs=..., labeled_data_samples=...,  # T_L (if any)
             target_inputs=..., target_data_samples=...)    # T_U

    The T_U samples go through the same pipeline as T_L (so they may carry
    labels if the files exist); models must not use their labels.

    Args:
        source (dict | Dataset): the labelled source dataset.
        target (dict | Dataset): the whole target training set, with labels
            (T_L and T_U are taken from it).
        num_labeled (int | str, optional): size of T_L (a seeded random
            subset; ASS Table 1: 50, 100, 200, 500, 1000, 'all'). 0 gives
            no T_L (unsupervised adaptation, Table 1 row "0").
        split_file (str, optional): file listing T_L (overrides
            ``num_labeled``); e.g. the ``labeled_split.txt`` that
            :class:`mmda.engine.hooks.SaveLabeledSplitHook` wrote in a
            previous run.
        split_seed (int): seed of the random T_L. Defaults to 0.
        unlabeled (str): ``'rest'`` (default; T_U = target minus T_L, as in
            ASS §3) or ``'all'`` (T_U = every target image). With
            ``'rest'`` and T_L = the whole set, T_U falls back to every
            image (logged).
        labeled_sampling (str): ``'random'`` (default) or ``'sequential'``
            (``i % len(T_L)``) choice of the T_L sample of item ``i``.
        **kwargs: :class:`UDADataset` arguments (``length``,
            ``target_sampling`` for T_U, ``rare_class_sampling``, ``seed`` of
            the random draws, ``check_metainfo``).
    """

    _UNLABELED = ('rest', 'all')

    def __init__(self,
                 source=None,
                 target=None,
                 num_labeled: Union[int, str, None] = None,
                 split_file: Optional[str] = None,
                 split_seed: int = 0,
                 unlabeled: str = 'rest',
                 labeled_sampling: str = 'random',
                 **kwargs) -> None:
        name = 'SemiTargetUDADataset'
        if source is None:
            raise KeyError(f'{name}: missing `source` (the labelled source '
                           'dataset config) in train_dataloader.dataset')
        if target is None:
            raise KeyError(f'{name}: missing `target` (the target training '
                           'set with labels; T_L and T_U are drawn from it) '
                           'in train_dataloader.dataset')
        if unlabeled not in self._UNLABELED:
            raise ValueError(f'{name}: unlabeled must be one of '
                             f'{self._UNLABELED}, got {unlabeled!r}')
        if labeled_sampling not in ('random', 'sequential'):
            raise ValueError(f'{name}: labeled_sampling must be "random" or '
                             f'"sequential", got {labeled_sampling!r}')
        full, idx, keys = _split_target(target, name, num_labeled,
                                        split_file, split_seed)
        chosen = set(idx)
        if unlabeled == 'all':
            rest = list(range(len(full)))
        else:
            rest = [i for i in range(len(full)) if i not in chosen]
            if not rest:
                print_log(f'{name}: every target image is labelled; T_U is '
                          'the whole target set', 'current')
                rest = list(range(len(full)))
        self.labeled = _subset(target, full, idx)
        unlabeled_ds = _subset(target, full, rest)
        super().__init__(source=source, target=unlabeled_ds, **kwargs)
        self._set_split(keys, idx, len(full), split_file, num_labeled,
                        split_seed)
        self.labeled_sampling = labeled_sampling
        print_log(f'{name}: {len(self.source)} source, {len(idx)} labelled '
                  f'and {len(unlabeled_ds)} unlabelled target images',
                  'current')

    @property
    def num_labeled(self) -> int:
        return 0 if self.labeled is None else len(self.labeled)

    def full_init(self) -> None:
        super().full_init()
        if self.labeled is not None and hasattr(self.labeled, 'full_init'):
            self.labeled.full_init()

    def __getitem__(self, idx: int) -> dict:
        out = super().__getitem__(idx)
        if self.labeled is None:
            return out
        if self.labeled_sampling == 'random':
            l_idx = int(self.rng.integers(len(self.labeled)))
        else:
            l_idx = idx % len(self.labeled)
        lab = self.labeled[l_idx]
        if not isinstance(lab, dict) or 'inputs' not in lab:
            raise KeyError('SemiTargetUDADataset: the target pipeline must '
                           'end with PackSegInputs (producing `inputs` and '
                           '`data_samples`)')
        out['labeled_inputs'] = lab['inputs']
        out['labeled_data_samples'] = lab['data_samples']
        return out


@DATASETS.register_module()
class LabeledSubsetDataset(_SplitMixin, Dataset):
    """The labelled target subset T_L alone (ASS Table 1 "Oracle").

    Chooses T_L exactly as :class:`SemiTargetUDADataset` does (same
    ``num_labeled`` / ``split_file`` / ``split_seed`` give the same images)
    and returns its samples.

    Args:
        dataset (dict | Dataset): the whole target training set.
        num_labeled, split_file, split_seed: see
            :class:`SemiTargetUDADataset` (``num_labeled`` must be > 0).
    """

    def __init__(self,
                 dataset=None,
                 num_labeled: Union[int, str, None] = None,
                 split_file: Optional[str] = None,
                 split_seed: int = 0) -> None:
        name = 'LabeledSubsetDataset'
        if dataset is None:
            raise KeyError(f'{name}: missing `dataset` (the target training '
                           'set config)')
        full, idx, keys = _split_target(dataset, name, num_labeled,
                                        split_file, split_seed)
        if not idx:
            raise ValueError(f'{name}: the labelled subset is empty '
                             f'(num_labeled={num_labeled}, split_file='
                             f'{split_file})')
        self.dataset = _subset(dataset, full, idx)
        self._set_split(keys, idx, len(full), split_file, num_labeled,
                        split_seed)

    @property
    def metainfo(self) -> dict:
        return dict(self.dataset.metainfo)

    def full_init(self) -> None:
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[idx]
