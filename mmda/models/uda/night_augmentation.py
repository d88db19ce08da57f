"""Batched photometric perturbations of the mean-teacher domain extension.

Scherer et al. 2021, §3.3: "given an image at nighttime x_t, we construct a
weak augmentation A_w(x_t) which we feed into the teacher and a strong
augmentation A_s(x_t) which we feed into the student [...] we use Gaussian
noise and color jittering as augmentations". The paper gives no strengths;
:data:`WEAK_NIGHT_AUG` and :data:`STRONG_NIGHT_AUG` are our defaults (weak:
a few grey levels of noise and +-10% jitter; strong: up to 12 grey levels of
noise and +-40% jitter, the strength range of mean-teacher / FixMatch colour
augmentations).

Both transforms work on whole normalised batches (B, 3, H, W) on the
images' device: per-image factors are drawn as (B,) tensors and applied with
broadcasting, so there is no Python loop over images or pixels.

The toy benchmark's fixed stand-in for the day->night generator G_ST,
``FixedDay2Night``, is a translator:
mmda/models/translators/fixed_day2night.py.
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from mmda.registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
# ITU-R 601 luma weights (torchvision's rgb_to_grayscale).
_LUMA = (0.299, 0.587, 0.114)

#: A_w: weak perturbation fed to the teacher (our choice, see module doc).
WEAK_NIGHT_AUG = dict(
    type='NightAugmentation',
    noise_std=(0.0, 3.0),
    noise_p=1.0,
    brightness=0.1,
    contrast=0.1,
    saturation=0.1,
    hue=0.02,
    jitter_p=1.0)
#: A_s: strong perturbation fed to the student.
STRONG_NIGHT_AUG = dict(
    type='NightAugmentation',
    noise_std=(0.0, 12.0),
    noise_p=1.0,
    brightness=0.4,
    contrast=0.4,
    saturation=0.4,
    hue=0.1,
    jitter_p=1.0)


def as_rgb_stats(values: Sequence[float], name: str, owner: str) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() != 3:
        raise ValueError(f'{owner}: {name} must have 3 values (RGB), got '
                         f'{t.tolist()}')
    return t


def hue_rotation_matrices(shift: Tensor) -> Tensor:
    """(B, 3, 3) RGB matrices rotating colours about the grey axis.

    A hue shift of ``h`` (fraction of the colour circle, torchvision's
    ``adjust_hue`` convention) is a rotation by ``2*pi*h`` around
    (1, 1, 1)/sqrt(3); this linear form keeps grey pixels fixed and is exact
    up to the clamping of torchvision's HSV round trip.
    """
    theta = 2.0 * math.pi * shift.float()
    c, s = torch.cos(theta), torch.sin(theta)
    k = 1.0 / 3.0
    r = math.sqrt(k)
    a = c + (1.0 - c) * k
    b = k * (1.0 - c) - r * s
    d = k * (1.0 - c) + r * s
    row0 = torch.stack([a, b, d], dim=-1)
    row1 = torch.stack([d, a, b], dim=-1)
    row2 = torch.stack([b, d, a], dim=-1)
    return torch.stack([row0, row1, row2], dim=-2)


@MODELS.register_module()
class NightAugmentation:
    """Gaussian noise + colour jitter on normalised batches (A_w / A_s).

    Per image: with probability ``jitter_p`` brightness, contrast,
    saturation factors ``U[1 - s, 1 + s]`` and a hue shift ``U[-h, h]``
    (applied in that order, torchvision semantics for the first three, a
    rotation about the grey axis for hue, clamped to [0, 255] after each);
    then with probability ``noise_p`` additive Gaussian noise of std
    ``U[noise_std]`` grey levels (0..255 scale), clamped to [0, 255].

    Args:
        mean (Sequence[float]): normalisation mean (RGB, 0..255); ImageNet.
        std (Sequence[float]): normalisation std (0..255); ImageNet.
        noise_std (float | tuple[float, float]): noise std range in grey
            levels; a float means ``(0, noise_std)``.
        noise_p (float): probability of adding noise to an image.
        brightness, contrast, saturation (float): jitter strengths ``s``.
        hue (float): maximum hue shift (fraction of the circle, <= 0.5).
        jitter_p (float): probability of jittering an image.
    """

    def __init__(self,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 noise_std: Union[float, Tuple[float, float]] = (0.0, 12.0),
                 noise_p: float = 1.0,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.4,
                 hue: float = 0.1,
                 jitter_p: float = 1.0) -> None:
        name = type(self).__name__
        self.mean = as_rgb_stats(mean, 'mean', name)
        self.std = as_rgb_stats(std, 'std', name)
        if bool((self.std <= 0).any()):
            raise ValueError(f'{name}: std must be > 0, got '
                             f'{self.std.tolist()}')
        if isinstance(noise_std, (int, float)):
            noise_std = (0.0, float(noise_std))
        noise_std = tuple(float(v) for v in noise_std)
        if len(noise_std) != 2 or not 0 <= noise_std[0] <= noise_std[1]:
            raise ValueError(f'{name}: noise_std must be a float >= 0 or a '
                             f'(min, max) pair with 0 <= min <= max, got '
                             f'{noise_std}')
        for key, p in (('noise_p', noise_p), ('jitter_p', jitter_p)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f'{name}: {key} must be in [0, 1], got {p}')
        for key, s in (('brightness', brightness), ('contrast', contrast),
                       ('saturation', saturation)):
            if s < 0:
                raise ValueError(f'{name}: {key} must be >= 0, got {s}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'{name}: hue must be in [0, 0.5], got {hue}')
        self.noise_std = noise_std
        self.noise_p = float(noise_p)
        self.brightness = float(brightness)
        self.contrast = float(contrast)
        self.saturation = float(saturation)
        self.hue = float(hue)
        self.jitter_p = float(jitter_p)

    def sample_params(self,
                      batch_size: int,
                      generator: Optional[torch.Generator] = None,
                      device: Union[str, torch.device] = 'cpu'
                      ) -> Dict[str, Tensor]:
        """Per-image factors: (B,) tensors ``jitter`` (bool), ``brightness``,
        ``contrast``, ``saturation``, ``hue``, ``noise`` (bool),
        ``noise_std``."""
        B = int(batch_size)
        if B < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        gdev = generator.device if generator is not None else device
        u = torch.rand((7, B), generator=generator, device=gdev).to(device)

        def factor(s, v):
            lo = max(0.0, 1.0 - s)
            return lo + (1.0 + s - lo) * v

        lo, hi = self.noise_std
        return dict(
            jitter=u[0] < self.jitter_p,
            brightness=factor(self.brightness, u[1]),
            contrast=factor(self.contrast, u[2]),
            saturation=factor(self.saturation, u[3]),
            hue=self.hue * (2.0 * u[4] - 1.0),
            noise=u[5] < self.noise_p,
            noise_std=lo + (hi - lo) * u[6])

    def __call__(self,
                 imgs: Tensor,
                 generator: Optional[torch.Generator] = None,
                 params: Optional[Dict[str, Tensor]] = None) -> Tensor:
        """Augment a normalised batch.

        Args:
            imgs (Tensor): (B, 3, H, W) float images normalised with
                ``mean``/``std``.
            generator (torch.Generator, optional): random source of the
                factors and the noise (on the images' device for the noise).
            params (dict, optional): factors from :meth:`sample_params`.

        Returns:
            Tensor: augmented normalised images (a new tensor).
        """
        if not isinstance(imgs, Tensor) or imgs.dim() != 4 \
                or imgs.shape[1] != 3 or not imgs.is_floating_point():
            raise ValueError(f'{type(self).__name__} expects a float tensor '
                             'of shape (B, 3, H, W), got '
                             f'{getattr(imgs, "shape", type(imgs))}')
        B = imgs.shape[0]
        dev, dt = imgs.device, imgs.dtype
        if params is None:
            params = self.sample_params(B, generator, device=dev)
        p = {k: v.to(dev) for k, v in params.items()}
        mean = self.mean.to(dev, dt).view(1, 3, 1, 1)
        std = self.std.to(dev, dt).view(1, 3, 1, 1)
        x = (imgs * std + mean).clamp(0.0, 255.0)
        luma = torch.tensor(_LUMA, device=dev, dtype=dt).view(1, 3, 1, 1)

        def per_img(v):
            return v.to(dt).view(B, 1, 1, 1)

        on = per_img(p['jitter'])
        one = torch.ones((), device=dev, dtype=dt)
        bri = torch.where(on > 0, per_img(p['brightness']), one)
        con = torch.where(on > 0, per_img(p['contrast']), one)
        sat = torch.where(on > 0, per_img(p['saturation']), one)
        hue = torch.where(p['jitter'], p['hue'].to(dt),
                          torch.zeros((), device=dev, dtype=dt))
        # brightness: blend with black
        x = (x * bri).clamp(0.0, 255.0)
        # contrast: blend with the mean grey level of the image
        grey_mean = (x * luma).sum(1, keepdim=True).mean((2, 3), keepdim=True)
        x = ((x - grey_mean) * con + grey_mean).clamp(0.0, 255.0)
        # saturation: blend with the grey image
        grey = (x * luma).sum(1, keepdim=True)
        x = ((x - grey) * sat + grey).clamp(0.0, 255.0)
        # hue: rotation about the grey axis, one 3x3 matrix per image
        rot = hue_rotation_matrices(hue).to(dt)
        x = torch.einsum('bij,bjhw->bihw', rot, x).clamp(0.0, 255.0)
        # Gaussian noise
        sigma = per_img(p['noise_std']) * per_img(p['noise'])
        gdev = generator.device if generator is not None else dev
        noise = torch.randn(x.shape, generator=generator, device=gdev,
                            dtype=torch.float32).to(dev, dt)
        x = (x + sigma * noise).clamp(0.0, 255.0)
        return (x - mean) / std

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(noise_std={self.noise_std}, '
                f'noise_p={self.noise_p}, brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, jitter_p={self.jitter_p})')
