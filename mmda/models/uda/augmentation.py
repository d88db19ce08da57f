"""Strong augmentation of (mixed) images on normalised batched tensors.

DACS applies colour jitter and Gaussian blur to the mixed images after
ClassMix (thesis §3.4, §4.1.3; METHODS.md "Strong augmentation"):

* colour jitter of brightness, contrast, saturation and hue with strength
  ``s`` (factors ``U[1 - s, 1 + s]`` for the first three, hue shift
  ``U[-s, s]`` of the colour circle; torchvision semantics) in a random
  order per image;
* Gaussian blur with ``sigma ~ U(0.15, 1.15)`` and a kernel of about one
  tenth of the image size (the odd size used by the DACS code:
  ``floor(ceil(0.1 * n) - 0.5 + ceil(0.1 * n) % 2)``).

The parameters of one call are returned as a dict, so that a second tensor
(e.g. a second view of the same batch) can be augmented identically. Labels
are never changed by these photometric operations.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from mmda.registry import MODELS

_JITTER_OPS = ('brightness', 'contrast', 'saturation', 'hue')


def _blur_1d(x: Tensor, k: int, sigma: float, dim: int) -> Tensor:
    """1-D Gaussian of odd size ``k`` with reflect padding along ``dim``
    (-1 or -2) of ``x``, as a sum of shifted copies (vectorised over all
    pixels; the Python loop runs over kernel taps only).

    Taps whose weight is below 1e-10 of the centre weight are skipped: they
    cannot change a float32 result (for sigma <= 1.15 only 15 of the 51 taps
    of a 512-pixel image matter).
    """
    half = (k - 1) // 2
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (t / sigma)**2)
    w = w / w.sum()  # normalised over the full kernel, as torchvision
    eff = int((w >= w[half] * 1e-10).nonzero().min())  # first kept tap
    eff_half = half - eff
    if eff_half == 0:
        return x.clone()
    shape = x.shape
    n = shape[dim]
    pad = (eff_half, eff_half, 0, 0) if dim == -1 else (0, 0, eff_half,
                                                         eff_half)
    xp = F.pad(x.reshape((-1, 1) + tuple(shape[-2:])), pad, mode='reflect')
    taps = w[eff:k - eff].tolist()
    out = xp.narrow(dim, 0, n) * taps[0]
    for i in range(1, len(taps)):
        out.add_(xp.narrow(dim, i, n), alpha=taps[i])
    return out.reshape(shape)


def gaussian_blur(img: Tensor, kernel_size: Tuple[int, int],
                  sigma: float) -> Tensor:
    """Gaussian blur with reflect padding.

    Same result as ``torchvision``'s ``gaussian_blur`` (normalised 2-D
    kernel, reflect padding) up to float rounding, computed separably as
    shifted sums (see :func:`_blur_1d`), which is much faster on CPU than a
    51x51 convolution at 512x512.

    Args:
        img (Tensor): (..., H, W) float image(s).
        kernel_size (tuple[int, int]): odd (kh, kw); 1 skips a direction.
        sigma (float): standard deviation in pixels (both directions).
    """
    out = img
    for k, dim in ((kernel_size[0], -2), (kernel_size[1], -1)):
        if k <= 1:
            continue
        if k % 2 == 0:
            raise ValueError(
                f'gaussian_blur: kernel size must be odd, got {k}')
        if (k - 1) // 2 > img.shape[dim] - 1:
            raise ValueError(f'gaussian_blur: kernel size {k} too large for '
                             f'an image side of {img.shape[dim]} pixels')
        out = _blur_1d(out, k, sigma, dim)
    return out


@MODELS.register_module()
class StrongAugmentation:
    """DACS strong augmentation: per-image colour jitter and Gaussian blur.

    Args:
        mean (Sequence[float]): per-channel mean used to normalise the input
            (0..255 scale, e.g. ImageNet ``[123.675, 116.28, 103.53]``).
        std (Sequence[float]): per-channel std (0..255 scale).
        color_jitter_p (float): probability that an image is colour jittered.
            Note: in the DACS/DAFormer code the jitter runs when
            ``U(0, 1) > color_jitter_p``, i.e. with probability
            ``1 - 0.2 = 0.8`` at their default 0.2; set ``0.8`` here to
            reproduce that code, the default 0.2 follows METHODS.md.
        color_jitter_s (float): jitter strength ``s`` (DAFormer: 0.2;
            DACS code: 0.25). Hue strength is capped at 0.5.
        blur_p (float): probability that an image is blurred (0.5: thesis
            §5.1 and the DACS code ``blur > 0.5``).
        blur_sigma (tuple[float, float]): range of the blur sigma (thesis
            §3.4: U(0.15, 1.15)).
        blur_kernel_ratio (float): kernel size / image size (thesis: 0.1).
    """

    def __init__(self,
                 mean: Sequence[float],
                 std: Sequence[float],
                 color_jitter_p: float = 0.2,
                 color_jitter_s: float = 0.2,
                 blur_p: float = 0.5,
                 blur_sigma: Tuple[float, float] = (0.15, 1.15),
                 blur_kernel_ratio: float = 0.1):
        mean = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean.numel() != 3 or std.numel() != 3:
            raise ValueError('StrongAugmentation: mean and std must have 3 '
                             f'values (RGB), got {mean.tolist()} and '
                             f'{std.tolist()}')
        if bool((std <= 0).any()):
            raise ValueError(f'StrongAugmentation: std must be > 0, got '
                             f'{std.tolist()}')
        for name, p in (('color_jitter_p', color_jitter_p), ('blur_p',
                                                             blur_p)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f'StrongAugmentation: {name} must be in '
                                 f'[0, 1], got {p}')
        if color_jitter_s < 0:
            raise ValueError('StrongAugmentation: color_jitter_s must be >= 0,'
                             f' got {color_jitter_s}')
        blur_sigma = tuple(float(s) for s in blur_sigma)
        if len(blur_sigma) != 2 or not 0 < blur_sigma[0] <= blur_sigma[1]:
            raise ValueError('StrongAugmentation: blur_sigma must be a '
                             f'(min, max) pair with 0 < min <= max, got '
                             f'{blur_sigma}')
        if not 0 < blur_kernel_ratio <= 1:
            raise ValueError('StrongAugmentation: blur_kernel_ratio must be '
                             f'in (0, 1], got {blur_kernel_ratio}')
        self.mean = mean
        self.std = std
        self.color_jitter_p = float(color_jitter_p)
        self.color_jitter_s = float(color_jitter_s)
        self.blur_p = float(blur_p)
        self.blur_sigma = blur_sigma
        self.blur_kernel_ratio = float(blur_kernel_ratio)

    # ------------------------------------------------------------------
    # normalisation helpers
    def _stats(self, imgs: Tensor) -> Tuple[Tensor, Tensor]:
        mean = self.mean.to(device=imgs.device, dtype=imgs.dtype)
        std = self.std.to(device=imgs.device, dtype=imgs.dtype)
        return mean.view(1, 3, 1, 1), std.view(1, 3, 1, 1)

    def denormalize(self, imgs: Tensor) -> Tensor:
        """Normalised images -> RGB values in 0..255."""
        mean, std = self._stats(imgs)
        return imgs * std + mean

    def normalize(self, imgs: Tensor) -> Tensor:
        """RGB values in 0..255 -> normalised images."""
        mean, std = self._stats(imgs)
        return (imgs - mean) / std

    def kernel_size(self, size: int) -> int:
        """Odd blur kernel of about ``blur_kernel_ratio * size`` pixels (the
        DACS code's formula), at least 1."""
        c = math.ceil(self.blur_kernel_ratio * size)
        k = c if c % 2 == 1 else c - 1
        return max(k, 1)

    # ------------------------------------------------------------------
    def sample_params(self,
                      batch_size: int,
                      generator: Optional[torch.Generator] = None
                      ) -> Dict[str, Tensor]:
        """Draw the augmentation parameters of a batch.

        Returns:
            dict: CPU tensors, one entry per image:
            ``color_jitter`` (B,) bool, ``brightness``, ``contrast``,
            ``saturation`` (B,) factors, ``hue`` (B,) shift, ``jitter_order``
            (B, 4) permutation of (brightness, contrast, saturation, hue),
            ``blur`` (B,) bool and ``blur_sigma`` (B,).
        """
        B = int(batch_size)
        if B < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        device = generator.device if generator is not None else 'cpu'

        def rand(*shape):
            return torch.rand(
                shape, generator=generator, device=device).cpu()

        s = self.color_jitter_s
        lo = max(0.0, 1.0 - s)
        hs = min(s, 0.5)
        u = rand(8, B)
        order = torch.argsort(rand(B, 4), dim=1)
        return dict(
            color_jitter=u[0] < self.color_jitter_p,
            brightness=lo + (1.0 + s - lo) * u[1],
            contrast=lo + (1.0 + s - lo) * u[2],
            saturation=lo + (1.0 + s - lo) * u[3],
            hue=-hs + 2 * hs * u[4],
            jitter_order=order,
            blur=u[5] < self.blur_p,
            blur_sigma=self.blur_sigma[0] +
            (self.blur_sigma[1] - self.blur_sigma[0]) * u[6])

    def _check_params(self, params: dict, batch_size: int) -> None:
        keys = ('color_jitter', 'brightness', 'contrast', 'saturation', 'hue',
                'jitter_order', 'blur', 'blur_sigma')
        missing = [k for k in keys if k not in params]
        if missing:
            raise KeyError(f'StrongAugmentation params miss keys {missing}; '
                           'use sample_params() to create them')
        for k in keys:
            if len(params[k]) != batch_size:
                raise ValueError(
                    f'StrongAugmentation params[{k!r}] has {len(params[k])} '
                    f'entries but the batch has {batch_size} images')

    def _jitter(self, img: Tensor, params: dict, b: int) -> Tensor:
        """Colour jitter one RGB image in [0, 1] (3, H, W)."""
        for op in params['jitter_order'][b].tolist():
            name = _JITTER_OPS[op]
            f = float(params[name][b])
            if name == 'brightness':
                img = TF.adjust_brightness(img, f)
            elif name == 'contrast':
                img = TF.adjust_contrast(img, f)
            elif name == 'saturation':
                img = TF.adjust_saturation(img, f)
            else:
                img = TF.adjust_hue(img, f)
        return img

    def __call__(self,
                 imgs: Tensor,
                 params: Optional[dict] = None
                 ) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Augment a normalised batch.

        Args:
            imgs (Tensor): (B, 3, H, W) float images normalised with
                ``mean``/``std``.
            params (dict, optional): parameters from :meth:`sample_params`
                or from a previous call; drawn anew if ``None``.

        Returns:
            tuple[Tensor, dict]: augmented normalised images (a new tensor;
            images with no augmentation drawn are returned unchanged) and the
            parameters used.
        """
        if not isinstance(imgs, Tensor) or imgs.dim() != 4 \
                or imgs.shape[1] != 3 or not imgs.is_floating_point():
            raise ValueError('StrongAugmentation expects a float tensor of '
                             'shape (B, 3, H, W), got '
                             f'{getattr(imgs, "shape", type(imgs))}')
        B, _, H, W = imgs.shape
        if params is None:
            params = self.sample_params(B)
        self._check_params(params, B)
        jitter = params['color_jitter'].tolist()
        blur = params['blur'].tolist()
        todo = [b for b in range(B) if jitter[b] or blur[b]]
        out = imgs.clone()
        if not todo:
            return out, params
        ks = (self.kernel_size(H), self.kernel_size(W))
        rgb = self.denormalize(imgs[todo]) / 255.0
        results = []
        for i, b in enumerate(todo):  # loop over the batch only
            img = rgb[i]
            if jitter[b]:
                img = self._jitter(img.clamp(0.0, 1.0), params, b)
            if blur[b]:
                sigma = float(params['blur_sigma'][b])
                img = gaussian_blur(img, ks, sigma)
            results.append(img)
        out[todo] = self.normalize(torch.stack(results) * 255.0)
        return out, params

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_jitter_p='
                f'{self.color_jitter_p}, color_jitter_s={self.color_jitter_s},'
                f' blur_p={self.blur_p}, blur_sigma={self.blur_sigma}, '
                f'blur_kernel_ratio={self.blur_kernel_ratio})')
