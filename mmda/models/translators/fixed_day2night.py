"""A fixed day->night colour transform standing in for the CycleGAN
generator G_ST (Scherer et al. 2021, §3.3) on the embedded toy benchmark:
the ``translator`` of ``configs/mean_teacher/toy_*.py``, with the interface of
:class:`mmda.models.translators.day2night.Day2NightTranslator` (normalised
batches in, normalised batches out)."""
from typing import Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmda.registry import MODELS
from ..uda.night_augmentation import as_rgb_stats
from .day2night import IMAGENET_MEAN, IMAGENET_STD


@MODELS.register_module()
class FixedDay2Night(nn.Module):
    """A fixed day->night colour transform standing in for G_ST.

    For the embedded toy benchmark only, where training the toy CycleGAN
    (``configs/cyclegan/toy_day2night.py``) first would dominate the run
    time: ``y = clamp(gain * tint * x + noise)`` on RGB values 0..255, with
    the global components of the toy night renderer
    (``mmda/datasets/toy_render.py``: tint (0.85, 0.9, 1.15), sensor noise
    std 5; the gain 0.82 is below the renderer's ``NIGHT_DARKNESS`` of 0.9)
    and none of its scene-dependent parts (dark sky, lit windows, light
    glows), i.e. an idealised "content-preserving" generator that only
    learned the global style. It has no parameters, so it cannot receive
    gradients. Interface of :class:`Day2NightTranslator`: normalised batches
    in, normalised batches out.

    Args:
        gain (float): global brightness gain.
        tint (Sequence[float]): per-channel (RGB) gain.
        noise_std (float): std of additive Gaussian noise (grey levels).
        mean, std (Sequence[float]): normalisation of the batches.
    """

    def __init__(self,
                 gain: float = 0.82,
                 tint: Sequence[float] = (0.85, 0.9, 1.15),
                 noise_std: float = 5.0,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        super().__init__()
        name = type(self).__name__
        if gain <= 0 or noise_std < 0:
            raise ValueError(f'{name}: gain must be > 0 and noise_std >= 0, '
                             f'got {gain} and {noise_std}')
        scale = as_rgb_stats(tint, 'tint', name) * float(gain)
        self.register_buffer('scale', scale.view(1, 3, 1, 1), False)
        self.register_buffer('mean',
                             as_rgb_stats(mean, 'mean', name).view(
                                 1, 3, 1, 1), False)
        self.register_buffer('std',
                             as_rgb_stats(std, 'std', name).view(1, 3, 1, 1),
                             False)
        self.noise_std = float(noise_std)

    @torch.no_grad()
    def forward(self, imgs: Tensor) -> Tensor:
        if imgs.dim() != 4 or imgs.shape[1] != 3:
            raise ValueError(f'{type(self).__name__} expects normalised '
                             f'images (B, 3, H, W), got {tuple(imgs.shape)}')
        x = imgs * self.std + self.mean
        y = x * self.scale
        if self.noise_std > 0:
            y = y + self.noise_std * torch.randn_like(y)
        y = y.clamp(0.0, 255.0)
        return ((y - self.mean) / self.std).to(imgs.dtype)
