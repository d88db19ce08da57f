"""A dataset of (source, target) pairs for domain adaptation and
semi-supervised segmentation.

Each item holds one labelled sample of the *source* dataset and one sample of
the *target* dataset (unlabelled for UDA; the unlabelled split for
semi-supervised ClassMix), each passed through its own pipeline::

    dict(inputs=..., data_samples=...,                 # source
         target_inputs=..., target_data_samples=...)   # target

so mmengine's default ``pseudo_collate`` batches both halves and
:class:`mmda.models.data_preprocessors.uda_data_preprocessor.UDADataPreProcessor` normalises them. Other keys of the
source sample (e.g. ``translated_inputs``, the offline day->night
translation of the source image) are passed through unchanged.

Optionally the source is drawn by rare-class sampling (RCS, DAFormer,
Hoyer et al. 2022, §3.3) from the class statistics written by the dataset
converters (``sample_class_stats.json`` / ``samples_with_class.json``).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.dist import get_rank
from mmengine.logging import print_log
from torch.utils.data import Dataset, get_worker_info

from mmda.registry import DATASETS


def rcs_class_probabilities(
        sample_class_stats: Sequence[dict],
        temperature: float,
        num_classes: Optional[int] = None) -> Tuple[List[int], np.ndarray]:
    """Class sampling probabilities of rare-class sampling (DAFormer eq. 6).

    ``P(c) = exp((1 - f_c) / T) / sum_c' exp((1 - f_c') / T)`` where ``f_c`` is
    the fraction of all labelled source pixels that belong to class ``c``.

    Args:
        sample_class_stats (list[dict]): one dict per source image, mapping
            class ids (``str`` or ``int``) to pixel counts; a ``'file'`` key is
            ignored (DAFormer's ``sample_class_stats.json`` format).
        temperature (float): ``T``; smaller values favour rare classes more
            (DAFormer uses 0.01).
        num_classes (int, optional): ignore class ids outside
            ``[0, num_classes)`` (e.g. 255). Defaults to None (keep all).

    Returns:
        tuple[list[int], np.ndarray]: classes sorted by increasing frequency
        and their probabilities (float64, summing to 1).
    """
    if temperature <= 0:
        raise ValueError(f'RCS temperature must be > 0, got {temperature}')
    totals: Dict[int, float] = {}
    for stats in sample_class_stats:
        for key, n in stats.items():
            if key == 'file':
                continue
            c = int(key)
            if num_classes is not None and not 0 <= c < num_classes:
                continue
            totals[c] = totals.get(c, 0) + float(n)
    if not totals:
        raise ValueError('RCS: the class statistics contain no pixel counts')
    classes = sorted(totals, key=lambda c: (totals[c], c))
    freq = np.array([totals[c] for c in classes], dtype=np.float64)
    freq = 1.0 - freq / freq.sum()
    logits = freq / temperature
    probs = np.exp(logits - logits.max())
    return classes, probs / probs.sum()


def build_dataset(cfg, what: str) -> Dataset:
    """A dataset from its config dict (built from mmda's registry), or
    ``cfg`` itself if it is a dataset; ``what`` names it in the errors."""
    if isinstance(cfg, dict):
        if 'type' not in cfg:
            raise KeyError(f'{what}: the dataset config needs a `type` (a '
                           f'dataset class), got keys {sorted(cfg)}')
        return DATASETS.build(cfg)
    if isinstance(cfg, Dataset):
        return cfg
    raise TypeError(f'{what}: expected a dataset config dict or a dataset, '
                    f'got {type(cfg)}')


@DATASETS.register_module()
class UDADataset(Dataset):
    """Pairs of a source and a target sample.

    Args:
        source (dict | BaseDataset): the labelled dataset (config with its own
            ``pipeline``, or a built dataset).
        target (dict | BaseDataset): the unlabelled dataset (same).
        length (str): ``'source'`` (default; one pass over the source per
            epoch, as DACS) or ``'max'`` (max of both lengths; the shorter
            dataset is indexed modulo its length).
        target_sampling (str): ``'random'`` (default; target index drawn
            uniformly for every item, DACS samples the two loaders
            independently) or ``'sequential'`` (``i % len(target)``).
        rare_class_sampling (dict, optional): enables RCS for the source
            with keys ``class_temp`` (T, DAFormer: 0.01), ``min_pixels``
            (images whose class-c pixel count is ``<= min_pixels`` are not
            sampled for c; DAFormer: 3000), ``min_crop_ratio`` (re-crop up to
            10 times until the crop holds more than
            ``min_pixels * min_crop_ratio`` class-c pixels; DAFormer: 0.5) and
            ``stats_dir`` (folder of ``sample_class_stats.json`` and
            ``samples_with_class.json``; defaults to the source's
            ``data_root``). With RCS the source index of an item is ignored.
        seed (int, optional): seed of the random target / RCS draws. The
            generator is created per process, data-loader worker and rank
            from ``(seed, rank, worker_id)``; when None, ``seed`` is drawn
            from numpy's global generator, which mmengine seeds per worker
            and rank from ``randomness.seed``.
        check_metainfo (bool): require equal ``classes`` in both datasets.
            Defaults to True.
        extra (dict, optional): further unlabelled streams ``{name: dataset
            config}``; every item then also holds one random sample of each
            (drawn like the random target), its packed keys prefixed with
            ``name_`` (e.g. ``extra=dict(day=...)`` gives ``day_inputs``,
            ``day_data_samples`` and, with PackTranslatedSegInputs,
            ``day_translated_inputs``: the unlabelled day images of the mean
            teacher's day consistency term, ``day_images='all'``).
    """

    _LENGTHS = ('source', 'max')
    _TARGET_SAMPLING = ('random', 'sequential')

    def __init__(self,
                 source: Union[dict, BaseDataset, None] = None,
                 target: Union[dict, BaseDataset, None] = None,
                 length: str = 'source',
                 target_sampling: str = 'random',
                 rare_class_sampling: Optional[dict] = None,
                 seed: Optional[int] = None,
                 check_metainfo: bool = True,
                 extra: Optional[Dict[str, Union[dict, BaseDataset]]] = None
                 ) -> None:
        if source is None:
            raise KeyError(
                'UDADataset: missing `source` (the labelled dataset config, '
                'e.g. source=dict(type=..., pipeline=...)) in '
                'train_dataloader.dataset')
        if target is None:
            raise KeyError(
                'UDADataset: missing `target` (the unlabelled dataset config, '
                'e.g. target=dict(type=..., pipeline=...)) in '
                'train_dataloader.dataset; a UDA/semi-supervised method needs '
                'both a source and a target dataset')
        if length not in self._LENGTHS:
            raise ValueError(f'UDADataset: length must be one of '
                             f'{self._LENGTHS}, got {length!r}')
        if target_sampling not in self._TARGET_SAMPLING:
            raise ValueError(f'UDADataset: target_sampling must be one of '
                             f'{self._TARGET_SAMPLING}, got '
                             f'{target_sampling!r}')
        self.source = build_dataset(source, 'UDADataset: `source`')
        self.target = build_dataset(target, 'UDADataset: `target`')
        if extra is not None and not isinstance(extra, dict):
            raise TypeError('UDADataset: `extra` must be a dict {name: '
                            f'dataset config}}, got {type(extra).__name__}')
        self.extra = {}
        for name, cfg in (extra or {}).items():
            if not isinstance(name, str) or not name.isidentifier() or \
                    name in ('target', 'translated'):
                raise ValueError(
                    f'UDADataset: extra stream name {name!r} must be an '
                    "identifier other than 'target' / 'translated' (it "
                    'prefixes the batch keys, e.g. day -> day_inputs)')
            self.extra[name] = build_dataset(cfg, f'UDADataset: `extra.{name}`')
            if len(self.extra[name]) == 0:
                raise ValueError(f'UDADataset: the extra dataset {name!r} '
                                 f'({type(self.extra[name]).__name__}) is '
                                 'empty')
        self.length = length
        self.target_sampling = target_sampling
        self.seed = seed
        self._rng: Optional[np.random.Generator] = None
        self._rng_key = None

        src_meta = dict(self.source.metainfo)
        tgt_meta = dict(self.target.metainfo)
        if check_metainfo:
            src_classes = tuple(src_meta.get('classes', ()))
            tgt_classes = tuple(tgt_meta.get('classes', ()))
            if src_classes != tgt_classes:
                raise ValueError(
                    'UDADataset: source and target datasets must have the '
                    f'same classes; source {type(self.source).__name__} has '
                    f'{src_classes} and target {type(self.target).__name__} '
                    f'has {tgt_classes}')
        self._metainfo = src_meta

        if len(self.source) == 0:
            raise ValueError(f'UDADataset: the source dataset '
                             f'{type(self.source).__name__} is empty')
        if len(self.target) == 0:
            raise ValueError(f'UDADataset: the target dataset '
                             f'{type(self.target).__name__} is empty')

        self.rcs_cfg = None
        if rare_class_sampling is not None:
            self._init_rcs(dict(rare_class_sampling), source)

    @property
    def metainfo(self) -> dict:
        """The source's metainfo (classes checked equal to the target's)."""
        return dict(self._metainfo)

    def full_init(self) -> None:
        for ds in (self.source, self.target, *self.extra.values()):
            if hasattr(ds, 'full_init'):
                ds.full_init()

    def __len__(self) -> int:
        if self.length == 'max':
            return max(len(self.source), len(self.target))
        return len(self.source)

    # -------------------------------------------------------------------- RCS
    def _init_rcs(self, cfg: dict, source_cfg) -> None:
        unknown = set(cfg) - {'class_temp', 'min_pixels', 'min_crop_ratio',
                              'stats_dir'}
        if unknown:
            raise KeyError(f'UDADataset.rare_class_sampling: unknown keys '
                           f'{sorted(unknown)}; expected class_temp, '
                           'min_pixels, min_crop_ratio, stats_dir')
        temp = float(cfg.get('class_temp', 0.01))
        min_pixels = int(cfg.get('min_pixels', 3000))
        min_crop_ratio = float(cfg.get('min_crop_ratio', 0.5))
        stats_dir = cfg.get('stats_dir', None)
        if stats_dir is None:
            stats_dir = getattr(self.source, 'data_root', None)
            if not stats_dir and isinstance(source_cfg, dict):
                stats_dir = source_cfg.get('data_root', None)
        if not stats_dir:
            raise KeyError('UDADataset.rare_class_sampling: set `stats_dir` '
                           '(folder of sample_class_stats.json and '
                           'samples_with_class.json) or the source data_root')
        stats_file = osp.join(stats_dir, 'sample_class_stats.json')
        swc_file = osp.join(stats_dir, 'samples_with_class.json')
        for f in (stats_file, swc_file):
            if not osp.isfile(f):
                raise FileNotFoundError(
                    f'UDADataset.rare_class_sampling: {f} not found; it is '
                    'written by the source dataset converter '
                    '(tools/dataset_converters/*), see DAFormer RCS')
        with open(stats_file) as f:
            sample_class_stats = json.load(f)
        with open(swc_file) as f:
            samples_with_class = json.load(f)
        num_classes = len(self._metainfo.get('classes', ())) or None
        classes, probs = rcs_class_probabilities(sample_class_stats, temp,
                                                 num_classes)

        # basename of the label file -> source index
        file_to_idx: Dict[str, int] = {}
        dup = set()
        for i in range(len(self.source)):
            info = self.source.get_data_info(i)
            path = info.get('seg_map_path')
            if path is None:
                raise KeyError('UDADataset.rare_class_sampling: source sample '
                               f'{i} has no seg_map_path (RCS needs labels)')
            name = osp.basename(path)
            if name in file_to_idx:
                dup.add(name)
            file_to_idx[name] = i

        indices: Dict[int, np.ndarray] = {}
        kept, kept_p = [], []
        for c, p in zip(classes, probs):
            entries = samples_with_class.get(str(c), [])
            idx = []
            for file, n in entries:
                if n <= min_pixels:
                    continue
                name = osp.basename(file)
                if name in dup:
                    raise ValueError(
                        f'UDADataset.rare_class_sampling: label file name '
                        f'{name!r} occurs several times in the source; '
                        'RCS matches samples by file name')
                if name in file_to_idx:
                    idx.append(file_to_idx[name])
            if not idx:
                print_log(
                    f'RCS: class {c} has no source image with more than '
                    f'{min_pixels} pixels; it is not sampled', 'current',
                    level=30)
                continue
            indices[c] = np.asarray(sorted(set(idx)), dtype=np.int64)
            kept.append(c)
            kept_p.append(p)
        if not kept:
            raise ValueError(
                f'UDADataset.rare_class_sampling: no source image of '
                f'{swc_file} matches the source dataset with more than '
                f'{min_pixels} pixels of any class')
        kept_p = np.asarray(kept_p, dtype=np.float64)
        self.rcs_cfg = dict(class_temp=temp, min_pixels=min_pixels,
                            min_crop_ratio=min_crop_ratio, stats_dir=stats_dir)
        self.rcs_classes = kept
        self.rcs_class_probs = kept_p / kept_p.sum()
        self.rcs_indices = indices
        print_log(f'RCS classes: {kept}; probabilities: '
                  f'{np.round(self.rcs_class_probs, 4).tolist()}', 'current')

    # --------------------------------------------------------------- sampling
    @property
    def rng(self) -> np.random.Generator:
        """Per-process / per-worker generator for the random draws."""
        info = get_worker_info()
        worker_id = info.id if info is not None else -1
        key = (os.getpid(), worker_id)
        if self._rng is None or self._rng_key != key:
            base = self.seed
            if base is None:
                base = int(np.random.randint(0, 2**31 - 1))
            self._rng = np.random.default_rng(
                [int(base), get_rank(), worker_id + 1])
            self._rng_key = key
        return self._rng

    def _rare_class_sample(self) -> dict:
        rng = self.rng
        c = self.rcs_classes[rng.choice(len(self.rcs_classes),
                                        p=self.rcs_class_probs)]
        i = int(rng.choice(self.rcs_indices[c]))
        sample = self.source[i]
        min_crop = self.rcs_cfg['min_pixels'] * self.rcs_cfg['min_crop_ratio']
        if min_crop > 0:
            # The source pipeline crops randomly: re-draw the crop (up to 10
            # times, DAFormer) until it holds enough pixels of class c.
            for _ in range(10):
                seg = sample['data_samples'].gt_sem_seg.data
                if int((seg == c).sum()) > min_crop:
                    break
                sample = self.source[i]
        return sample

    def __getitem__(self, idx: int) -> dict:
        if self.rcs_cfg is not None:
            src = self._rare_class_sample()
        else:
            src = self.source[idx % len(self.source)]
        if self.target_sampling == 'random':
            t_idx = int(self.rng.integers(len(self.target)))
        else:
            t_idx = idx % len(self.target)
        tgt = self.target[t_idx]
        for name, s in (('source', src), ('target', tgt)):
            if not isinstance(s, dict) or 'inputs' not in s:
                raise KeyError(
                    f'UDADataset: the {name} pipeline must end with '
                    'PackSegInputs (producing `inputs` and `data_samples`), '
                    f'got {type(s).__name__} '
                    f'{sorted(s) if isinstance(s, dict) else ""}')
        out = dict(inputs=src['inputs'],
                   data_samples=src['data_samples'],
                   target_inputs=tgt['inputs'],
                   target_data_samples=tgt['data_samples'])
        # Further packed keys of the source pass through unchanged, e.g.
        # `translated_inputs` (the offline translation of the source image,
        # PackTranslatedSegInputs), normalised by UDADataPreProcessor.
        for key, value in src.items():
            out.setdefault(key, value)
        for name, ds in self.extra.items():
            item = ds[int(self.rng.integers(len(ds)))]
            if not isinstance(item, dict) or 'inputs' not in item:
                raise KeyError(
                    f'UDADataset: the pipeline of extra dataset {name!r} '
                    'must end with PackSegInputs / PackTranslatedSegInputs')
            for key, value in item.items():
                out[f'{name}_{key}'] = value
        return out
