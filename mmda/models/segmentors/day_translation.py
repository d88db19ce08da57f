"""Where the mean teacher's translated day images ``G_ST(x_s)`` come from
(Scherer et al. 2021, §3.3 and Table 1).

Where ``G_ST(x_s)`` comes from (``translation``): ``'offline'`` takes it from
the batch (``translated_inputs``: the "Day2Night (CS)" copy written by
``tools/translate.py`` before training, Table 1 caption; see
:class:`~mmda.datasets.day2night.Day2NightCityscapesDataset`); ``'online'``
runs the frozen ``translator`` on the day crops in every step (a variant: the
generator's InstanceNorm then sees only the crop, not the whole image).

Day images of the day consistency pair (``day_images``): ``'labelled'``
uses the labelled batch ``x_s``; ``'all'`` a separate stream of unlabelled
day images (``day_inputs`` [+ ``day_translated_inputs``], e.g. every
Cityscapes image, §4.1 "For SSL training, we utilize all images from CS"),
given by ``UDADataset(extra=dict(day=...))``.
"""
from typing import Optional

import torch
from torch import Tensor

from mmda.registry import MODELS


class DayTranslationMixin:
    """The translation part of
    :class:`~mmda.models.segmentors.mean_teacher.MeanTeacherUDA`: the frozen
    day->night ``translator`` (a submodule, so its key in checkpoints is
    ``translator.*``) or the batch's offline translations, and the day
    images of the day consistency pair."""

    def init_translation(self, translator: Optional[dict], translation: str,
                         day_images: str, need_translation: bool) -> None:
        """Check the translation settings and build the frozen translator.

        Args:
            translator (dict, optional): config of the day->night module.
            translation (str): ``'online'`` or ``'offline'``.
            day_images (str): ``'labelled'`` or ``'all'``.
            need_translation (bool): whether a loss uses ``G_ST(x_s)``
                (``sup_translated`` or ``day_consistency``).
        """
        if translation not in ('online', 'offline'):
            raise ValueError("MeanTeacherUDA: translation must be 'online' "
                             f"or 'offline', got {translation!r}")
        if day_images not in ('labelled', 'all'):
            raise ValueError("MeanTeacherUDA: day_images must be 'labelled'"
                             f" or 'all', got {day_images!r}")
        if translation == 'offline' and translator is not None:
            raise ValueError(
                "MeanTeacherUDA: translation='offline' takes G_ST(x_s) from "
                'the batch (`translated_inputs`), `translator` would not be '
                "used: remove it or set translation='online'")
        if translation == 'online' and need_translation \
                and translator is None:
            raise ValueError(
                'MeanTeacherUDA: sup_translated / day_consistency use '
                "G_ST(x_s) and need `translator` (e.g. dict(type='Day2Night"
                "Translator', generator=..., checkpoint=...)) or "
                "translation='offline' (translated images from the dataset);"
                ' set both to False for a model trained on day images only')
        self.translator = None
        if translator is not None:
            if not isinstance(translator, dict) or 'type' not in translator:
                raise TypeError('MeanTeacherUDA: `translator` must be a '
                                'module config with a `type`, got '
                                f'{translator!r:.200}')
            self.translator = MODELS.build(dict(translator))
            self.translator.requires_grad_(False)
            self.translator.eval()
        self.translation = translation
        self.day_images = day_images

    @torch.no_grad()
    def translate(self, img: Tensor) -> Tensor:
        """G_ST(img) (no gradient)."""
        if self.translator is None:
            raise RuntimeError('MeanTeacherUDA: no translator configured')
        out = self.translator(img)
        if out.shape != img.shape:
            raise ValueError(
                f'MeanTeacherUDA: the translator returned {tuple(out.shape)} '
                f'for images {tuple(img.shape)}; it must keep the shape')
        return out.detach()

    def get_translated(self, data: dict, key: str = 'inputs') -> Tensor:
        """G_ST(data[key]): the batch's offline translation
        (``translation='offline'``: key ``translated_inputs`` for ``inputs``,
        ``day_translated_inputs`` for ``day_inputs``) or the translator's
        (``'online'``)."""
        img = data[key]
        tkey = key[:-len('inputs')] + 'translated_inputs'
        if self.translation == 'online':
            if tkey in data:
                raise ValueError(
                    f"MeanTeacherUDA(translation='online'): the batch holds "
                    f'offline translations `{tkey}`; use '
                    "translation='offline' or a dataset without them")
            return self.translate(img)
        if tkey not in data:
            raise KeyError(
                f"MeanTeacherUDA(translation='offline'): the batch has no "
                f'`{tkey}` (the offline translation of `{key}`); the day '
                "dataset must be dict(type='Day2NightCityscapesDataset', "
                'translated_dir=...) with LoadTranslatedImage and '
                'PackTranslatedSegInputs in its pipeline (configs/_base_/'
                "datasets/mt_cs2night.py), or use translation='online' "
                'with a translator')
        out = data[tkey]
        if out.shape != img.shape:
            raise ValueError(
                f'MeanTeacherUDA: `{tkey}` has shape {tuple(out.shape)} but '
                f'`{key}` {tuple(img.shape)}; they must be aligned pairs')
        return out.detach()

    def day_pair(self, data: dict, src_img: Tensor, translated):
        """(teacher input, student input) of the day consistency term."""
        if self.day_images == 'labelled':
            return src_img, translated
        if 'day_inputs' not in data:
            raise KeyError(
                "MeanTeacherUDA(day_images='all'): the batch has no "
                '`day_inputs`; add the unlabelled day stream with '
                "train_dataloader.dataset=dict(type='UDADataset', ..., "
                'extra=dict(day=<day dataset>)) (configs/mean_teacher/'
                'cs2night_all_cs_day.py)')
        return data['day_inputs'], self.get_translated(data, 'day_inputs')
