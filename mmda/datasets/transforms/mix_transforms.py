"""Dataset-level mixing of two labelled samples (supervised ClassMix/CutMix).

These transforms follow the multi-image protocol of mmseg's
``MultiImageMixDataset`` (as mmseg's ``RandomMosaic``): the wrapper calls
``transform.get_indices(dataset)``, loads those samples through the inner
dataset's pipeline and passes them as ``results['mix_results']``. The current
sample is ``a`` and ``mix_results[0]`` is ``b``; the mask (1 = keep ``a``) is
drawn by the same code as the batched mixers of :mod:`mmda.models.uda.mixing`
(ClassMix: half of the classes of ``a``'s label map; thesis §3.1,
Algorithm 1; taken from the ``MODELS`` registry, so the data layer imports no
model code), and image and every segmentation field are mixed with it::

    train_dataloader = dict(dataset=dict(
        type='MultiImageMixDataset',
        dataset=dict(type='ToySegDataset', ..., pipeline=[
            dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='RandomCrop', crop_size=(64, 64))]),
        pipeline=[dict(type='ClassMixTransform', prob=0.5),
                  dict(type='PackSegInputs')]))

Both samples must already have the same size (crop/resize them in the inner
pipeline). The mask is stored as ``results['mix_mask']`` (H, W) bool.
"""
from typing import List

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmda.registry import MODELS, TRANSFORMS


def _mixer(name: str, **kwargs):
    """The batched mixer ``name`` of mmda.models.uda.mixing (registered in
    ``MODELS``)."""
    return MODELS.get(name)(**kwargs)


class _MixTransform(BaseTransform):
    """Mix the current sample with one other sample of the dataset.

    Args:
        prob (float): probability of mixing a sample.
    """

    def __init__(self, prob: float = 1.0):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'{type(self).__name__}: prob must be in [0, 1], '
                             f'got {prob}')
        self.prob = float(prob)
        self.mixer = None  # set by subclasses

    def get_indices(self, dataset) -> List[int]:
        """One random index of ``dataset`` (mmseg ``MultiImageMixDataset``
        protocol)."""
        n = len(dataset)
        if n < 1:
            raise ValueError(f'{type(self).__name__}: empty dataset')
        return [int(np.random.randint(0, n))]

    # mmdet's MultiImageMixDataset calls it get_indexes
    get_indexes = get_indices

    @cache_randomness
    def _do_mix(self) -> bool:
        return bool(np.random.rand() < self.prob)

    @cache_randomness
    def _seed(self) -> int:
        return int(np.random.randint(0, 2**31 - 1))

    def _mask(self, label: np.ndarray) -> np.ndarray:
        """Draw a (H, W) bool mask from ``a``'s label map (numpy RNG)."""
        g = torch.Generator().manual_seed(self._seed())
        lab = torch.from_numpy(np.ascontiguousarray(label).astype(np.int64))
        m = self.mixer.generate_masks(lab[None], generator=g)
        return m[0, 0].numpy() > 0.5

    def transform(self, results: dict) -> dict:
        name = type(self).__name__
        mix = results.get('mix_results')
        if not mix:
            raise KeyError(
                f'{name}: results has no "mix_results"; use it inside '
                "dict(type='MultiImageMixDataset', pipeline=[...]) which "
                'loads the other sample through get_indices()')
        if not self._do_mix():
            return results
        other = mix[0]
        seg_fields = results.get('seg_fields') or ['gt_seg_map']
        for key in ['img'] + list(seg_fields):
            if key not in results or key not in other:
                raise KeyError(f'{name}: both samples need {key!r} (load '
                               'images and annotations in the inner '
                               "dataset's pipeline)")
            if results[key].shape != other[key].shape:
                raise ValueError(
                    f'{name}: {key!r} shapes differ: {results[key].shape} vs '
                    f'{other[key].shape} ({results.get("img_path")} and '
                    f'{other.get("img_path")}); crop or resize both samples '
                    'to the same size in the inner pipeline')
        mask = self._mask(results[seg_fields[0]])
        img_mask = mask[..., None] if results['img'].ndim == 3 else mask
        results['img'] = np.where(img_mask, results['img'], other['img'])
        for key in seg_fields:
            results[key] = np.where(mask, results[key], other[key])
        results['mix_mask'] = mask
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, mixer={self.mixer!r})'


@TRANSFORMS.register_module()
class ClassMixTransform(_MixTransform):
    """Supervised ClassMix: paste ``ceil(proportion * n)`` of the ``n``
    classes of the current sample onto another sample.

    Args:
        prob (float): probability of mixing.
        proportion (float): fraction of the classes to paste (0.5).
        ignore_index (int): label value never chosen (255).
    """

    def __init__(self,
                 prob: float = 1.0,
                 proportion: float = 0.5,
                 ignore_index: int = 255):
        super().__init__(prob)
        self.mixer = _mixer('ClassMix', proportion=proportion,
                            ignore_index=ignore_index)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, proportion='
                f'{self.mixer.proportion}, ignore_index='
                f'{self.mixer.ignore_index})')


@TRANSFORMS.register_module()
class CutMixTransform(_MixTransform):
    """Supervised CutMix: paste one random box of the current sample.

    Args:
        prob (float): probability of mixing.
        area_ratio (float | tuple[float, float]): box area fraction (0.5).
    """

    def __init__(self, prob: float = 1.0, area_ratio=0.5):
        super().__init__(prob)
        self.mixer = _mixer('CutMix', area_ratio=area_ratio)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, area_ratio='
                f'{self.mixer.area_ratio})')


@TRANSFORMS.register_module()
class CowMixTransform(_MixTransform):
    """Supervised CowMix: paste a smoothed-noise region of the current
    sample.

    Args:
        prob (float): probability of mixing.
        sigma (float | tuple[float, float]): smoothing sigma (range).
        proportion (float | tuple[float, float]): pasted fraction (range).
    """

    def __init__(self,
                 prob: float = 1.0,
                 sigma=(8.0, 32.0),
                 proportion=0.5):
        super().__init__(prob)
        self.mixer = _mixer('CowMix', sigma=sigma, proportion=proportion)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, sigma='
                f'{self.mixer.sigma}, proportion={self.mixer.proportion})')
