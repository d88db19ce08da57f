"""Strong augmentation of (mixed) images on normalised batched tensors.

DACS applies colour jitter and Gaussian blur to the mixed images after
ClassMix (thesis §3.4, §4.1.3, §5.2.1):

* colour jitter of brightness, contrast, saturation and hue with strength
  ``s`` (factors ``U[1 - s, 1 + s]`` for the first three, hue shift
  ``U[-s, s]`` of the colour circle; torchvision semantics) in a random
  order;
* Gaussian blur with ``sigma ~ U(0.15, 1.15)`` and a kernel of about one
  tenth of the image size (the odd size used by the DACS code:
  ``floor(ceil(0.1 * n) - 0.5 + ceil(0.1 * n) % 2)``).

**One draw per batch** by default (``draw='batch'``): "Both augmentations
have a 50% chance of being applied for each unsupervised batch" (thesis
§5.2.1), so the on/off decisions, the jitter factors and order and the blur
sigma are drawn once and shared by all images of the batch.
``draw='image'`` draws everything per image (an ablation). The authors'
DACS code sits in between (on/off once per batch, ``U(0, 1) > 0.2`` i.e.
p = 0.8 for the jitter and strength 0.25; kornia draws the factors per
image; ``utils/transformsgpu.py``, ``trainUDA.py``).

Both modes apply the operations as batched tensor operations (no Python
loop over images; the kernels are in :mod:`mmda.models.uda.photometric`): a
factor shared by the batch runs torchvision's kernel on the whole batch,
per-image factors broadcast as ``(B, 1, 1, 1)`` tensors (same formulas as
torchvision's).

The parameters of one call are returned as a dict, so that a second tensor
(e.g. a second view of the same batch) can be augmented identically. Labels
are never changed by these photometric operations.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmda.registry import MODELS
from .photometric import (JITTER_FNS, JITTER_OPS, adjust_brightness,
                          adjust_contrast, adjust_hue, adjust_saturation,
                          gaussian_blur)

__all__ = [
    'StrongAugmentation', 'DRAW_MODES', 'gaussian_blur', 'adjust_brightness',
    'adjust_contrast', 'adjust_saturation', 'adjust_hue'
]

DRAW_MODES = ('batch', 'image')


@MODELS.register_module()
class StrongAugmentation:
    """DACS strong augmentation: colour jitter and Gaussian blur, one draw
    per batch (thesis §5.2.1) or per image.

    Args:
        mean (Sequence[float]): per-channel mean used to normalise the input
            (0..255 scale, e.g. ImageNet ``[123.675, 116.28, 103.53]``).
        std (Sequence[float]): per-channel std (0..255 scale).
        color_jitter_p (float): probability of the colour jitter (thesis
            §5.2.1: 0.5 per batch). The DACS code jitters when
            ``U(0, 1) > 0.2``, i.e. with probability 0.8 (DAFormer too).
        color_jitter_s (float): jitter strength ``s`` (DAFormer: 0.2; DACS
            code: 0.25; the thesis prints none). Hue strength is capped at
            0.5.
        blur_p (float): probability of the blur (0.5: thesis §5.2.1 and
            the DACS code ``blur > 0.5``).
        blur_sigma (tuple[float, float]): range of the blur sigma (thesis
            §3.4: U(0.15, 1.15)).
        blur_kernel_ratio (float): kernel size / image size (thesis: 0.1).
        draw (str): ``'batch'`` (default): one draw of every parameter for
            the whole batch (thesis §5.2.1); ``'image'``: every image draws
            its own.
    """

    def __init__(self,
                 mean: Sequence[float],
                 std: Sequence[float],
                 color_jitter_p: float = 0.5,
                 color_jitter_s: float = 0.2,
                 blur_p: float = 0.5,
                 blur_sigma: Tuple[float, float] = (0.15, 1.15),
                 blur_kernel_ratio: float = 0.1,
                 draw: str = 'batch'):
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
        if draw not in DRAW_MODES:
            raise ValueError(f'StrongAugmentation: draw must be one of '
                             f'{DRAW_MODES}, got {draw!r}')
        self.mean = mean
        self.std = std
        self.color_jitter_p = float(color_jitter_p)
        self.color_jitter_s = float(color_jitter_s)
        self.blur_p = float(blur_p)
        self.blur_sigma = blur_sigma
        self.blur_kernel_ratio = float(blur_kernel_ratio)
        self.draw = draw

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

        With ``draw='batch'`` one set is drawn and repeated for every image;
        with ``draw='image'`` each image gets its own.

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
        n = 1 if self.draw == 'batch' else B

        def rand(*shape):
            return torch.rand(
                shape, generator=generator, device=device).cpu()

        s = self.color_jitter_s
        lo = max(0.0, 1.0 - s)
        hs = min(s, 0.5)
        u = rand(8, n)
        order = torch.argsort(rand(n, 4), dim=1)
        params = dict(
            color_jitter=u[0] < self.color_jitter_p,
            brightness=lo + (1.0 + s - lo) * u[1],
            contrast=lo + (1.0 + s - lo) * u[2],
            saturation=lo + (1.0 + s - lo) * u[3],
            hue=-hs + 2 * hs * u[4],
            jitter_order=order,
            blur=u[5] < self.blur_p,
            blur_sigma=self.blur_sigma[0] +
            (self.blur_sigma[1] - self.blur_sigma[0]) * u[6])
        if n != B:
            params = {k: v.expand((B, ) + tuple(v.shape[1:])).clone()
                      for k, v in params.items()}
        return params

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

    @staticmethod
    def _jitter(x: Tensor, params: dict, idx: Tensor) -> Tensor:
        """Colour jitter of the RGB images ``x`` in [0, 1] (n, 3, H, W),
        which are the images ``idx`` of the batch: at each of the four
        positions of the jitter order, every operation is applied (batched)
        to the images that have it there."""
        order = params['jitter_order'][idx]  # (n, 4)
        if bool((order == order[:1]).all()):  # one order (draw='batch')
            for op in order[0].tolist():
                f = params[JITTER_OPS[op]][idx].to(x.dtype)
                x = JITTER_FNS[op](x, f.to(x.device))
            return x
        for pos in range(4):
            for op, fn in enumerate(JITTER_FNS):
                sel = order[:, pos] == op
                if not bool(sel.any()):
                    continue
                f = params[JITTER_OPS[op]][idx].to(x.dtype)
                if bool(sel.all()):
                    x = fn(x, f.to(x.device))
                else:
                    rows = sel.nonzero()[:, 0].to(x.device)
                    x = x.index_copy(
                        0, rows, fn(x[rows], f[sel].to(x.device)))
        return x

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
        jitter = params['color_jitter'].bool().cpu()
        blur = params['blur'].bool().cpu()
        todo = (jitter | blur).nonzero()[:, 0]
        if todo.numel() == 0:
            return imgs.clone(), params
        every = todo.numel() == B
        x = self.denormalize(imgs if every else imgs[todo.to(imgs.device)])
        x = x / 255.0
        jit, blr = jitter[todo], blur[todo]
        if bool(jit.any()):
            rows = jit.nonzero()[:, 0]
            part = x if bool(jit.all()) else x[rows.to(x.device)]
            part = self._jitter(part.clamp(0.0, 1.0), params, todo[rows])
            x = part if bool(jit.all()) else x.index_copy(
                0, rows.to(x.device), part)
        if bool(blr.any()):
            ks = (self.kernel_size(H), self.kernel_size(W))
            rows = blr.nonzero()[:, 0]
            sigma = params['blur_sigma'][todo[rows]]
            part = x if bool(blr.all()) else x[rows.to(x.device)]
            part = gaussian_blur(part, ks, sigma)
            x = part if bool(blr.all()) else x.index_copy(
                0, rows.to(x.device), part)
        x = self.normalize(x * 255.0)
        if every:
            return x, params
        out = imgs.clone()
        out[todo.to(imgs.device)] = x
        return out, params

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_jitter_p='
                f'{self.color_jitter_p}, color_jitter_s={self.color_jitter_s},'
                f' blur_p={self.blur_p}, blur_sigma={self.blur_sigma}, '
                f'blur_kernel_ratio={self.blur_kernel_ratio}, '
                f'draw={self.draw!r})')
