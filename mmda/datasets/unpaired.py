"""Unpaired two-domain image dataset for image-to-image translation
(CycleGAN day <-> night, Scherer et al., 2021, §4.1: all Cityscapes images as
day, Dark Zurich night + BDD100K night as night)."""
import copy
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset, Compose
from mmengine.structures import BaseDataElement

from mmda.registry import DATASETS

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')


def _list_folder(root: str, suffix: Sequence[str], recursive: bool) -> list:
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'UnpairedImageDataset: image folder {root!r} does not exist '
            '(expected images ending in ' + ', '.join(suffix) + ')')
    files = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            files += [osp.join(dirpath, f) for f in sorted(filenames)
                      if f.endswith(tuple(suffix)) and not f.startswith('.')]
    else:
        files = [osp.join(root, f) for f in sorted(os.listdir(root))
                 if f.endswith(tuple(suffix)) and not f.startswith('.')]
    return files


def resolve_image_source(src: dict, key: str) -> List[str]:
    """Image paths of one source spec.

    Specs:
      * folder: ``dict(data_root='', img_dir=..., suffix='.png',
        recursive=True)`` - all files below ``data_root/img_dir`` ending in
        ``suffix`` (str or tuple), sorted;
      * list file: the same plus ``ann_file=...`` (relative to
        ``data_root``): one image path per line, relative to
        ``data_root/img_dir``; ``suffix`` is appended to lines that do not
        end with it (e.g. Cityscapes-style basenames);
      * toy benchmark: ``dict(toy='source'|'target'|'night', split='train',
        data_root=None)`` - the images of ``ToySegDataset`` (generated on
        first use; ``seed``, ``num_train``, ``num_val`` and the rendering
        knobs of a toy variant, ``mmda.datasets.toy.RENDER_KEYS``, are
        passed on).
    """
    if not isinstance(src, dict):
        raise TypeError(f'UnpairedImageDataset: {key} must be a dict (image '
                        f'source spec), got {src!r}')
    src = dict(src)
    src.pop('name', None)
    if 'toy' in src:
        from mmda.datasets.toy import ToySegDataset
        from mmda.datasets.toy import RENDER_KEYS
        extra = {k: src[k] for k in ('seed', 'num_train', 'num_val') +
                 RENDER_KEYS if k in src}
        toy = ToySegDataset(domain=src['toy'],
                            split=src.get('split', 'train'),
                            data_root=src.get('data_root'),
                            pipeline=[],
                            serialize_data=False,
                            lazy_init=False,
                            **extra)
        return [toy.get_data_info(i)['img_path'] for i in range(len(toy))]
    if 'img_dir' not in src:
        raise KeyError(f'UnpairedImageDataset: {key} needs "img_dir" (or '
                       f'"toy"), got keys {sorted(src)}')
    data_root = src.get('data_root', '') or ''
    img_root = osp.join(data_root, src['img_dir'])
    suffix = src.get('suffix', IMG_EXTENSIONS)
    suffix = (suffix, ) if isinstance(suffix, str) else tuple(suffix)
    ann_file = src.get('ann_file')
    if ann_file is None:
        files = _list_folder(img_root, suffix, src.get('recursive', True))
    else:
        ann_path = ann_file if osp.isabs(ann_file) else osp.join(
            data_root, ann_file)
        if not osp.isfile(ann_path):
            raise FileNotFoundError(
                f'UnpairedImageDataset: {key}.ann_file {ann_path!r} does not '
                'exist (expected a text file with one image path per line, '
                f'relative to {img_root!r})')
        with open(ann_path) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        files = [
            osp.join(img_root,
                     ln if ln.endswith(suffix) else ln + suffix[0])
            for ln in lines
        ]
        missing = [p for p in files if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f'UnpairedImageDataset: {len(missing)} of {len(files)} images '
                f'listed in {ann_path!r} do not exist, e.g. {missing[:3]}')
    if not files:
        raise ValueError(f'UnpairedImageDataset: {key} ({img_root!r}) '
                         f'contains no images ending in {suffix}')
    return files


def _as_sources(domain, key: str) -> List[dict]:
    if isinstance(domain, dict) and 'sources' in domain:
        sources = domain['sources']
    else:
        sources = domain
    if isinstance(sources, dict):
        sources = [sources]
    if not isinstance(sources, (list, tuple)) or not sources:
        raise TypeError(f'UnpairedImageDataset: {key} must be a source spec '
                        'dict, a list of them or dict(sources=[...]), got '
                        f'{domain!r}')
    return list(sources)


def _to_tensor(img: np.ndarray, key: str, path: str) -> torch.Tensor:
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f'UnpairedImageDataset: pipeline output "img" of '
                         f'{path!r} has shape {img.shape}, expected HWC')
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@DATASETS.register_module()
class UnpairedImageDataset(BaseDataset):
    """Two unpaired image domains A and B (e.g. day and night).

    Each domain is one or several image sources (folders, list files or a
    toy-benchmark domain, see :func:`resolve_image_source`), concatenated.
    Sample ``i`` pairs A image ``i % len(A)`` with a uniformly random B
    image (``random_pair=True`` and not ``test_mode``, CycleGAN's unaligned
    sampling) or with B image ``i % len(B)``. The length is
    ``max(len(A), len(B))``.

    The pipeline (per image: load / resize / crop / flip, *without* a packing
    transform) runs on each image separately (``pipeline_b`` for B if given)
    and the sample is packed as ``dict(inputs=dict(img_a=uint8 CHW tensor,
    img_b=...), data_samples=BaseDataElement(metainfo=...))`` for
    :class:`UnpairedDataPreprocessor`.

    Args:
        domain_a (dict | list): Source spec(s) of domain A.
        domain_b (dict | list): Source spec(s) of domain B.
        pipeline (list): Per-image transforms.
        pipeline_b (list, optional): Transforms for domain B images.
        random_pair (bool): Random B partner in training. Default: True.
        max_samples (int, optional): Keep only the first N images of each
            domain (e.g. a small validation subset).
        test_mode (bool): Deterministic pairing. Default: False.
    """

    METAINFO = dict(domains=('A', 'B'))

    def __init__(self,
                 domain_a: Union[dict, list],
                 domain_b: Union[dict, list],
                 pipeline: List[Union[dict, Callable]] = [],
                 pipeline_b: Optional[List[Union[dict, Callable]]] = None,
                 random_pair: bool = True,
                 max_samples: Optional[int] = None,
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000):
        self.sources_a = _as_sources(domain_a, 'domain_a')
        self.sources_b = _as_sources(domain_b, 'domain_b')
        self.random_pair = random_pair
        self.max_samples = max_samples
        self.paths_a: List[str] = []
        self.paths_b: List[str] = []
        meta = dict(metainfo or {})
        names = [dom.get('name', default) if isinstance(dom, dict) else default
                 for dom, default in ((domain_a, 'A'), (domain_b, 'B'))]
        meta.setdefault('domains', tuple(names))
        super().__init__(
            metainfo=meta,
            pipeline=pipeline,
            serialize_data=False,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)
        self.pipeline_b = (Compose(pipeline_b)
                           if pipeline_b is not None else self.pipeline)

    def load_data_list(self) -> List[dict]:
        """Resolve both domains; the data list holds the A images (B paths
        are in ``self.paths_b``)."""
        self.paths_a = [p for i, s in enumerate(self.sources_a)
                        for p in resolve_image_source(s, f'domain_a[{i}]')]
        self.paths_b = [p for i, s in enumerate(self.sources_b)
                        for p in resolve_image_source(s, f'domain_b[{i}]')]
        if self.max_samples is not None:
            self.paths_a = self.paths_a[:self.max_samples]
            self.paths_b = self.paths_b[:self.max_samples]
        return [dict(img_path=p) for p in self.paths_a]

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return max(len(self.paths_a), len(self.paths_b))

    def _pair(self, idx: int):
        ia = idx % len(self.paths_a)
        if self.random_pair and not self.test_mode:
            ib = int(np.random.randint(len(self.paths_b)))
        else:
            ib = idx % len(self.paths_b)
        return ia, ib

    def prepare_data(self, idx: int):
        ia, ib = self._pair(idx)
        res_a = self.pipeline(dict(img_path=self.paths_a[ia], sample_idx=ia))
        res_b = self.pipeline_b(dict(img_path=self.paths_b[ib],
                                     sample_idx=ib))
        if res_a is None or res_b is None:
            return None
        for res, key in ((res_a, 'pipeline'), (res_b, 'pipeline_b')):
            if 'img' not in res:
                raise KeyError(
                    f'UnpairedImageDataset: {key} output has no "img" (keys '
                    f'{sorted(res)}); do not end it with a packing transform')
        meta = dict(sample_idx=idx)
        for tag, res in (('a', res_a), ('b', res_b)):
            for k in ('img_path', 'ori_shape', 'img_shape', 'flip',
                      'flip_direction', 'scale_factor'):
                if k in res:
                    meta[f'{k}_{tag}'] = copy.deepcopy(res[k])
        return dict(
            inputs=dict(
                img_a=_to_tensor(res_a['img'], 'img_a', self.paths_a[ia]),
                img_b=_to_tensor(res_b['img'], 'img_b', self.paths_b[ib])),
            data_samples=BaseDataElement(metainfo=meta))
