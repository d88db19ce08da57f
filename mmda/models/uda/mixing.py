"""Batched mask-based mixing: ClassMix, CutMix and CowMix.

All three share the mixing rule of the ClassMix/DACS thesis (eq. 2.10,
Algorithm 1)::

    x' = M * x_a + (1 - M) * x_b

and differ only in how the binary mask ``M`` is drawn (thesis §2.5.2, §3.1;
docs/methods.md#dacs step 3). ``M == 1`` marks pixels taken from ``a`` (the
source image in DACS' cross-domain "InterMix"), ``M == 0`` pixels taken from
``b`` (the target image).

Every mixer works on batched tensors on the input's device; the only Python
loops are over the images of a batch (never over pixels).
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from mmda.registry import MODELS

RangeOrFloat = Union[float, Sequence[float]]


def _as_range(value: RangeOrFloat, name: str, low: float,
              high: float) -> Tuple[float, float]:
    """Turn ``x`` or ``(lo, hi)`` into a checked ``(lo, hi)`` tuple."""
    if isinstance(value, (int, float)):
        lo = hi = float(value)
    else:
        value = tuple(value)
        if len(value) != 2:
            raise ValueError(f'{name} must be a number or a (min, max) pair, '
                             f'got {value!r}')
        lo, hi = float(value[0]), float(value[1])
    if not (low <= lo <= hi <= high):
        raise ValueError(f'{name} must satisfy {low} <= min <= max <= {high}, '
                         f'got {value!r}')
    return lo, hi


def _rand(n: int, generator: Optional[torch.Generator]) -> Tensor:
    """``n`` uniform samples in [0, 1) on the generator's device (CPU if
    no generator is given)."""
    device = generator.device if generator is not None else 'cpu'
    return torch.rand(n, generator=generator, device=device)


def _label_hw(labels: Tensor, name: str = 'src_labels') -> Tensor:
    """Return labels as (B, H, W), accepting (B, H, W) or (B, 1, H, W)."""
    if not isinstance(labels, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(labels)}')
    if labels.dim() == 4:
        if labels.shape[1] != 1:
            raise ValueError(f'{name} must have shape (B, H, W) or '
                             f'(B, 1, H, W), got {tuple(labels.shape)}')
        return labels[:, 0]
    if labels.dim() != 3:
        raise ValueError(f'{name} must have shape (B, H, W) or (B, 1, H, W), '
                         f'got {tuple(labels.shape)}')
    return labels


class BaseMix:
    """Common mixing logic; subclasses implement :meth:`generate_masks`."""

    def generate_masks(self,
                       src_labels: Tensor,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        """Return a (B, 1, H, W) float mask of 0/1 (1 = take from ``a``)."""
        raise NotImplementedError

    @staticmethod
    def mix(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
        """``mask * a + (1 - mask) * b`` for a binary ``mask``.

        Implemented with :func:`torch.where`, so integer label maps stay
        integer. ``mask`` is (B, 1, H, W) and broadcasts to images
        (B, C, H, W), labels/weights (B, 1, H, W) and, as a convenience,
        labels/weights given as (B, H, W) (the output then keeps that shape).

        Args:
            mask (Tensor): binary mask (B, 1, H, W), 1 selects ``a``.
            a (Tensor): first input (B, C, H, W), (B, 1, H, W) or (B, H, W).
            b (Tensor): second input, same shape as ``a``.

        Returns:
            Tensor: the mixed tensor, shape and dtype of ``a``.
        """
        if a.shape != b.shape:
            raise ValueError('mix: a and b must have the same shape, got '
                             f'{tuple(a.shape)} and {tuple(b.shape)}')
        if mask.dim() != 4 or mask.shape[1] != 1:
            raise ValueError('mix: mask must have shape (B, 1, H, W), got '
                             f'{tuple(mask.shape)}')
        m = mask.to(device=a.device) > 0.5
        if a.dim() == 3:
            m = m[:, 0]
            expected = (a.shape[0], ) + tuple(a.shape[-2:])
        elif a.dim() == 4:
            expected = (a.shape[0], 1) + tuple(a.shape[-2:])
        else:
            raise ValueError('mix: inputs must be (B, C, H, W) or (B, H, W), '
                             f'got {tuple(a.shape)}')
        if tuple(m.shape) != expected:
            raise ValueError(f'mix: mask {tuple(mask.shape)} does not match '
                             f'the inputs {tuple(a.shape)} (batch and H, W '
                             'must agree)')
        return torch.where(m, a, b)

    def __call__(self,
                 src_img: Tensor,
                 tgt_img: Tensor,
                 src_label: Tensor,
                 tgt_label: Tensor,
                 src_weight: Optional[Tensor] = None,
                 tgt_weight: Optional[Tensor] = None,
                 generator: Optional[torch.Generator] = None
                 ) -> Dict[str, Tensor]:
        """Mix a source batch into a target batch (DACS "InterMix").

        Args:
            src_img (Tensor): (B, C, H, W) source images (pasted where M=1).
            tgt_img (Tensor): (B, C, H, W) target images.
            src_label (Tensor): (B, 1, H, W) or (B, H, W) source labels; the
                masks are drawn from them (ClassMix) or from their shape.
            tgt_label (Tensor): target (pseudo-)labels, same shape. Soft
                targets (B, K, H, W) also work.
            src_weight (Tensor, optional): per-pixel loss weight of the
                source, shape of the labels. ``None`` means 1 (DACS).
            tgt_weight (Tensor, optional): weight of the target pixels
                (e.g. the pseudo-label confidence weight). ``None`` means 1.
            generator (torch.Generator, optional): random generator.

        Returns:
            dict: ``img``, ``label``, ``weight`` (mixed) and ``mask``
            (B, 1, H, W).
        """
        if src_img.shape != tgt_img.shape:
            raise ValueError('src_img and tgt_img must have the same shape '
                             '(crop both domains to the same size), got '
                             f'{tuple(src_img.shape)} and '
                             f'{tuple(tgt_img.shape)}')
        mask = self.generate_masks(src_label, generator=generator)
        mask = mask.to(device=src_img.device)
        if src_weight is None:
            src_weight = torch.ones(
                src_label.shape, dtype=torch.float32, device=src_img.device)
        if tgt_weight is None:
            tgt_weight = torch.ones(
                src_weight.shape, dtype=src_weight.dtype,
                device=src_weight.device)
        src_weight = src_weight.to(tgt_weight.dtype)
        return dict(
            img=self.mix(mask, src_img, tgt_img),
            label=self.mix(mask, src_label, tgt_label),
            weight=self.mix(mask, src_weight, tgt_weight),
            mask=mask)


@MODELS.register_module()
class ClassMix(BaseMix):
    """ClassMix masks (thesis §3.1, Algorithm 1; docs/methods.md#dacs step 3).

    For each image, the classes present in its label map (``ignore_index``
    excluded) are collected, ``ceil(proportion * n)`` of them are chosen
    uniformly at random without replacement, and the mask is 1 on the pixels
    of the chosen classes. The whole batch is handled without Python loops
    (one ``bincount`` for the class presence, random scores for the subset).

    Notes on the reference code: the DACS code (``trainUDA.py``) rounds up,
    ``(n + n % 2) / 2``, but its filtering of the ignore label is commented
    out, so 255 can be drawn as a "class" there; docs/methods.md#dacs (and the ClassMix
    SSL code) exclude it, as we do. The ClassMix SSL code rounds down
    (``proportion`` cannot reproduce that for odd ``n``).

    Args:
        proportion (float): fraction of the present classes to paste
            (Algorithm 1's ``p``; 0.5 = "half of the classes").
        ignore_index (int): label value never chosen. Default 255.
    """

    def __init__(self, proportion: float = 0.5, ignore_index: int = 255):
        if not 0.0 <= proportion <= 1.0:
            raise ValueError(f'ClassMix: proportion must be in [0, 1], got '
                             f'{proportion}')
        self.proportion = float(proportion)
        self.ignore_index = ignore_index

    def num_selected(self, num_present: int) -> int:
        """``ceil(p * n)`` (Algorithm 1; DACS code: ``(n + n % 2) / 2``)."""
        # the epsilon keeps e.g. ceil(0.5 * 4) = 2 robust to float error
        return min(num_present,
                   math.ceil(self.proportion * num_present - 1e-9))

    def generate_masks(self,
                       src_labels: Tensor,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        labels = _label_hw(src_labels).long()
        B = labels.shape[0]
        flat = labels.reshape(B, -1)
        if flat.numel() == 0:
            return torch.zeros((B, 1) + tuple(labels.shape[-2:]),
                               device=labels.device)
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0:
            raise ValueError('ClassMix: labels must be >= 0 (ignore_index '
                             f'{self.ignore_index} marks ignored pixels), got '
                             f'min {lo}')
        K = hi + 1
        # presence matrix (B, K) with one bincount over offset labels
        offsets = torch.arange(B, device=flat.device)[:, None] * K
        present = torch.bincount(
            (flat + offsets).flatten(), minlength=B * K).view(B, K) > 0
        if 0 <= self.ignore_index < K:
            present[:, self.ignore_index] = False
        n = present.sum(dim=1)  # classes per image
        k = torch.ceil(n.double() * self.proportion - 1e-9).long().clamp(
            max=n)
        # a uniformly random k-subset of the present classes: random scores,
        # absent classes last, take the k best of each row
        device = generator.device if generator is not None else 'cpu'
        scores = torch.rand((B, K), generator=generator,
                            device=device).to(flat.device)
        scores = scores.masked_fill(~present, 2.0)
        rank = scores.argsort(dim=1).argsort(dim=1)
        chosen = (rank < k[:, None]) & present
        mask = chosen.gather(1, flat)
        return mask.view((B, 1) + tuple(labels.shape[-2:])).float()


@MODELS.register_module()
class CutMix(BaseMix):
    """CutMix masks: one random axis-aligned box (thesis §2.5.2).

    As in the ClassMix/DACS code (``generate_cutout_mask``), the box width is
    drawn uniformly so that the height fits (``w ~ U[ratio * W, W]``,
    ``h = round(ratio * H * W / w)``) and the box position uniformly inside
    the image. The mask is 1 inside the box (pixels from ``a``).

    Args:
        area_ratio (float | tuple[float, float]): box area / image area, or a
            (min, max) range to draw it from uniformly. Default 0.5 (code of
            the thesis).
    """

    def __init__(self, area_ratio: RangeOrFloat = 0.5):
        self.area_ratio = _as_range(area_ratio, 'CutMix: area_ratio', 0.0,
                                    1.0)

    def generate_masks(self,
                       src_labels: Tensor,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        labels = _label_hw(src_labels)
        B, H, W = labels.shape
        lo, hi = self.area_ratio
        u = _rand(4 * B, generator).view(4, B).double()
        ratio = lo + (hi - lo) * u[0]
        area = ratio * H * W
        # w in [ratio * W, W] so that h = area / w <= H
        w_min = torch.clamp(torch.ceil(ratio * W), min=1.0)
        w = torch.floor(w_min + u[1] * (W - w_min + 1)).clamp(max=W)
        h = torch.round(area / w).clamp(0, H)
        w = torch.where(ratio > 0, w, torch.zeros_like(w))
        x0 = torch.floor(u[2] * (W - w + 1)).clamp(min=0)
        y0 = torch.floor(u[3] * (H - h + 1)).clamp(min=0)
        dev = labels.device
        x0, y0, w, h = (t.to(dev).long() for t in (x0, y0, w, h))
        xs = torch.arange(W, device=dev)[None, None, :]
        ys = torch.arange(H, device=dev)[None, :, None]
        inside = ((xs >= x0[:, None, None]) & (xs < (x0 + w)[:, None, None])
                  & (ys >= y0[:, None, None]) & (ys < (y0 + h)[:, None, None]))
        return inside[:, None].float()


@MODELS.register_module()
class CowMix(BaseMix):
    """CowMix masks (French et al.; thesis §2.5.2, Fig. 2.7).

    Gaussian noise per image, smoothed by a Gaussian of width ``sigma`` and
    thresholded so that exactly ``round(proportion * H * W)`` pixels are 1
    (the code of the thesis uses the Gaussian-quantile threshold
    ``erfinv(2p - 1) * sqrt(2) * std + mean``, which gives the same
    proportion in expectation; we threshold at the exact per-image quantile).

    Args:
        sigma (float | tuple[float, float]): smoothing sigma in pixels, or a
            (min, max) range drawn log-uniformly per image. Default (8, 32)
            as in the ClassMix code.
        proportion (float | tuple[float, float]): fraction of mask pixels
            equal to 1 (taken from ``a``), or a (min, max) range drawn
            uniformly per image. Default 0.5 (ClassMix code).
        truncate (float): kernel radius in sigmas (scipy's default 4.0).
    """

    def __init__(self,
                 sigma: RangeOrFloat = (8.0, 32.0),
                 proportion: RangeOrFloat = 0.5,
                 truncate: float = 4.0):
        self.sigma = _as_range(sigma, 'CowMix: sigma', 1e-6, float('inf'))
        self.proportion = _as_range(proportion, 'CowMix: proportion', 0.0,
                                    1.0)
        if truncate <= 0:
            raise ValueError(f'CowMix: truncate must be > 0, got {truncate}')
        self.truncate = float(truncate)

    def _smooth(self, noise: Tensor, sigma: float) -> Tensor:
        """Separable Gaussian smoothing of a (1, 1, H, W) tensor, reflect
        padding (radius capped so that reflection is defined)."""
        H, W = noise.shape[-2:]
        radius = int(self.truncate * sigma + 0.5)
        ry, rx = min(radius, H - 1), min(radius, W - 1)
        out = noise
        for r, dim in ((ry, 2), (rx, 3)):
            if r <= 0:
                continue
            x = torch.arange(-r, r + 1, dtype=noise.dtype,
                             device=noise.device)
            k = torch.exp(-0.5 * (x / sigma)**2)
            k = k / k.sum()
            if dim == 2:
                out = F.pad(out, (0, 0, r, r), mode='reflect')
                out = F.conv2d(out, k.view(1, 1, -1, 1))
            else:
                out = F.pad(out, (r, r, 0, 0), mode='reflect')
                out = F.conv2d(out, k.view(1, 1, 1, -1))
        return out

    def generate_masks(self,
                       src_labels: Tensor,
                       generator: Optional[torch.Generator] = None) -> Tensor:
        labels = _label_hw(src_labels)
        B, H, W = labels.shape
        dev = labels.device
        rng_device = generator.device if generator is not None else 'cpu'
        s_lo, s_hi = self.sigma
        p_lo, p_hi = self.proportion
        u = _rand(2 * B, generator).view(2, B).double()
        sigmas = torch.exp(
            math.log(s_lo) + (math.log(s_hi) - math.log(s_lo)) * u[0])
        props = p_lo + (p_hi - p_lo) * u[1]
        noise = torch.randn((B, 1, H, W), generator=generator,
                            device=rng_device).to(dev)
        smooth = torch.cat([
            self._smooth(noise[b:b + 1], float(sigmas[b])) for b in range(B)
        ])
        flat = smooth.view(B, -1)
        n = flat.shape[1]
        num_ones = torch.round(props * n).long().to(dev)  # (B,)
        desc = flat.sort(dim=1, descending=True).values
        idx = (num_ones - 1).clamp(min=0)[:, None]
        thr = desc.gather(1, idx)  # value of the k-th largest pixel
        mask = flat >= thr
        mask &= (num_ones > 0)[:, None]
        return mask.view(B, 1, H, W).float()
