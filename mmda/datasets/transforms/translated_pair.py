"""Load a day image's offline translation and keep it pixel-aligned with
the day image through the geometric transforms of the pipeline.

``LoadTranslatedImage`` reads ``results['translated_img_path']`` (set by
:class:`~mmda.datasets.day2night.Day2NightCityscapesDataset`) and appends it to the
day image as channels 3-5 of ``results['img']``. The geometric transforms
that follow (``Resize``, ``RandomResize``, ``RandomCrop``, ``RandomFlip``,
``Pad``) treat every channel alike, so the day image, its translation and
the label map get exactly the same scale, crop and flip.
``PackTranslatedSegInputs`` splits the channels again: ``inputs`` is the
day image (as ``PackSegInputs``), ``translated_inputs`` its translation.
Photometric transforms (colour conversions) must not run between the two.

Pipeline::

    dict(type='LoadImageFromFile'),
    dict(type='LoadTranslatedImage'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(256, 256), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackTranslatedSegInputs'),
"""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmseg.datasets.transforms import PackSegInputs

from mmda.registry import TRANSFORMS

#: Channels of one image; the stacked pair has twice as many.
PAIR_CHANNELS = 3


@TRANSFORMS.register_module()
class LoadTranslatedImage(BaseTransform):
    """Append the translation at ``results['translated_img_path']`` to
    ``results['img']`` (HxWx3 -> HxWx6, day first).

    Args:
        color_type (str): as ``LoadImageFromFile``. Defaults to 'color'.
        imdecode_backend (str): as ``LoadImageFromFile``. Defaults to 'cv2'.
        backend_args (dict, optional): file backend arguments.
    """

    def __init__(self,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        path = results.get('translated_img_path')
        if path is None:
            raise KeyError(
                'LoadTranslatedImage: the sample has no `translated_img_path`'
                f' ({results.get("img_path")}); use a dataset that pairs day'
                " images with their translation (type='Day2NightCityscapes"
                "Dataset', translated_dir=...)")
        img = results.get('img')
        if img is None or img.ndim != 3 or img.shape[2] != PAIR_CHANNELS:
            raise ValueError(
                'LoadTranslatedImage: put it right after LoadImageFromFile '
                f'(expected an HxWx{PAIR_CHANNELS} day image in '
                f'results["img"], got '
                f'{None if img is None else tuple(img.shape)})')
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
            trans = mmcv.imfrombytes(img_bytes, flag=self.color_type,
                                     backend=self.imdecode_backend)
        except Exception as e:  # noqa: BLE001
            raise OSError(f'LoadTranslatedImage: cannot read the translated '
                          f'image {path!r}: {e}') from e
        if trans is None or trans.shape != img.shape:
            raise ValueError(
                f'LoadTranslatedImage: the translation {path!r} has shape '
                f'{None if trans is None else tuple(trans.shape)} but the '
                f'day image {results.get("img_path")!r} has '
                f'{tuple(img.shape)}; tools/translate.py writes every output'
                ' at its input size (rewrite it with --overwrite)')
        results['img'] = np.concatenate([img, trans.astype(img.dtype)],
                                        axis=2)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')


@TRANSFORMS.register_module()
class PackTranslatedSegInputs(PackSegInputs):
    """``PackSegInputs`` for the stacked (day, translation) image of
    :class:`LoadTranslatedImage`: ``inputs`` / ``data_samples`` exactly as
    ``PackSegInputs`` packs the day image, plus ``translated_inputs`` (the
    aligned translation, CxHxW uint8 like ``inputs``)."""

    def transform(self, results: dict) -> dict:
        img = results.get('img')
        if img is None or img.ndim != 3 or \
                img.shape[2] != 2 * PAIR_CHANNELS:
            raise ValueError(
                'PackTranslatedSegInputs: expected the HxWx'
                f'{2 * PAIR_CHANNELS} stacked (day, translation) image of '
                'LoadTranslatedImage in results["img"], got '
                f'{None if img is None else tuple(img.shape)} '
                f'({results.get("img_path")})')
        trans = img[..., PAIR_CHANNELS:]
        results['img'] = img[..., :PAIR_CHANNELS]
        packed = super().transform(results)
        results['img'] = img
        trans = np.ascontiguousarray(trans.transpose(2, 0, 1))
        packed['translated_inputs'] = torch.from_numpy(trans)
        return packed
