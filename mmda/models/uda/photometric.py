"""Batched photometric kernels of the strong augmentation
(:mod:`mmda.models.uda.augmentation`): colour jitter (brightness, contrast,
saturation, hue) and separable Gaussian blur on (B, 3, H, W) RGB tensors in
[0, 1].

A factor shared by the whole batch (a float, or a tensor of equal entries)
runs torchvision's kernel on the whole batch; per-image factors broadcast as
``(B, 1, 1, 1)`` tensors with the same formulas as torchvision's. No Python
loop runs over images.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

JITTER_OPS = ('brightness', 'contrast', 'saturation', 'hue')


def _uniform(f: Union[float, Tensor]) -> Optional[float]:
    """``f`` as a Python float if it is one value for the whole batch (a
    float or a tensor of equal entries: then torchvision's kernels run on
    the whole batch at once), else ``None``."""
    if not isinstance(f, Tensor):
        return float(f)
    flat = f.flatten()
    if flat.numel() == 0 or bool((flat == flat[0]).all()):
        return float(flat[0]) if flat.numel() else None
    return None


def _factor(f: Union[float, Tensor], x: Tensor) -> Tensor:
    """A scalar or (B,) factor as a tensor broadcasting over (B, C, H, W)."""
    f = torch.as_tensor(f, dtype=x.dtype, device=x.device)
    return f.view(-1, 1, 1, 1) if f.dim() == 1 else f


def _grayscale(x: Tensor) -> Tensor:
    """ITU-R 601 luma of (B, 3, H, W) RGB (torchvision's weights)."""
    r, g, b = x.unbind(dim=1)
    return (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def _blend(x: Tensor, y: Tensor, f: Tensor) -> Tensor:
    """``clamp(f * x + (1 - f) * y, 0, 1)`` with per-image ``f``."""
    return (f * x + (1.0 - f) * y).clamp_(0.0, 1.0)


def adjust_brightness(x: Tensor, f) -> Tensor:
    """Brightness of (B, 3, H, W) RGB in [0, 1]; ``f`` scalar or (B,)."""
    u = _uniform(f)
    if u is not None:
        return TF.adjust_brightness(x, u)
    return (x * _factor(f, x)).clamp_(0.0, 1.0)


def adjust_contrast(x: Tensor, f) -> Tensor:
    """Blend with the per-image mean grey level (torchvision semantics)."""
    u = _uniform(f)
    if u is not None:
        return TF.adjust_contrast(x, u)  # per-image means as well
    mean = _grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    return _blend(x, mean, _factor(f, x))


def adjust_saturation(x: Tensor, f) -> Tensor:
    """Blend with the per-pixel grey level (torchvision semantics)."""
    u = _uniform(f)
    if u is not None:
        return TF.adjust_saturation(x, u)
    return _blend(x, _grayscale(x), _factor(f, x))


def adjust_hue(x: Tensor, f) -> Tensor:
    """Rotate the hue by ``f`` turns (in [-0.5, 0.5]) in HSV space."""
    u = _uniform(f)
    if u is not None:
        return TF.adjust_hue(x, u)
    r, g, b = x.unbind(dim=1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    delta = maxc - minc
    flat = delta == 0
    safe = torch.where(flat, torch.ones_like(delta), delta)
    sat = delta / torch.where(maxc == 0, torch.ones_like(maxc), maxc)
    sat = torch.where(flat, torch.zeros_like(sat), sat)
    hue = torch.where(maxc == r, (g - b) / safe,
                      torch.where(maxc == g, (b - r) / safe + 2.0,
                                  (r - g) / safe + 4.0))
    hue = torch.where(flat, torch.zeros_like(hue), hue)
    shift = torch.as_tensor(f, dtype=x.dtype, device=x.device)
    shift = shift.view(-1, 1, 1) if shift.dim() == 1 else shift
    hue = torch.remainder(hue / 6.0 + 1.0 + shift, 1.0)
    # back to RGB: sector i = floor(6 h), fraction t within it
    h6 = hue * 6.0
    sector = torch.floor(h6)
    frac = h6 - sector
    sector = sector.long().remainder(6)
    v = maxc
    p = (v * (1.0 - sat)).clamp(0.0, 1.0)
    q = (v * (1.0 - sat * frac)).clamp(0.0, 1.0)
    t = (v * (1.0 - sat * (1.0 - frac))).clamp(0.0, 1.0)
    cand = torch.stack((v, p, q, t), dim=1)  # (B, 4, H, W)
    # which of (v, p, q, t) each RGB channel takes in sectors 0..5
    table = torch.tensor([[0, 2, 1, 1, 3, 0],
                          [3, 0, 0, 2, 1, 1],
                          [1, 1, 3, 0, 0, 2]], device=x.device)
    idx = table[:, sector].movedim(0, 1)  # (B, 3, H, W)
    return cand.gather(1, idx)


JITTER_FNS = (adjust_brightness, adjust_contrast, adjust_saturation,
               adjust_hue)


def _blur_1d(x: Tensor, k: int, sigma: Tensor, dim: int) -> Tensor:
    """1-D Gaussian of odd size ``k`` with reflect padding along ``dim``
    (-1 or -2) of the (B, C, H, W) ``x``, one ``sigma`` per image (a (B,)
    tensor), as a sum of shifted copies (vectorised over images and pixels;
    the Python loop runs over kernel taps only).

    Taps whose weight is below 1e-10 of the centre weight for every image
    are skipped: they cannot change a float32 result (for sigma <= 1.15
    only 15 of the 51 taps of a 512-pixel image matter).
    """
    half = (k - 1) // 2
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    sig = sigma.to(torch.float64).view(-1, 1)
    w = torch.exp(-0.5 * (t[None] / sig)**2)  # (B, k)
    w = w / w.sum(dim=1, keepdim=True)  # normalised over the full kernel
    keep = (w >= w[:, half:half + 1] * 1e-10).any(dim=0)
    eff = int(keep.nonzero().min())  # first kept tap
    eff_half = half - eff
    if eff_half == 0:
        return x.clone()
    n = x.shape[dim]
    pad = (eff_half, eff_half, 0, 0) if dim == -1 else (0, 0, eff_half,
                                                         eff_half)
    xp = F.pad(x, pad, mode='reflect')
    taps = w[:, eff:k - eff].to(x.dtype).to(x.device)  # (B, taps)
    out = xp.narrow(dim, 0, n) * taps[:, 0].view(-1, 1, 1, 1)
    for i in range(1, taps.shape[1]):
        out.addcmul_(xp.narrow(dim, i, n), taps[:, i].view(-1, 1, 1, 1))
    return out


def gaussian_blur(img: Tensor, kernel_size: Tuple[int, int],
                  sigma: Union[float, Tensor]) -> Tensor:
    """Gaussian blur with reflect padding.

    Same result as ``torchvision``'s ``gaussian_blur`` (normalised 2-D
    kernel, reflect padding) up to float rounding, computed separably as
    shifted sums (see :func:`_blur_1d`), which is much faster on CPU than a
    51x51 convolution at 512x512.

    Args:
        img (Tensor): (H, W), (C, H, W) or (B, C, H, W) float image(s).
        kernel_size (tuple[int, int]): odd (kh, kw); 1 skips a direction.
        sigma (float | Tensor): standard deviation in pixels (both
            directions); a (B,) tensor gives one per image of a 4-D batch.
    """
    shape = img.shape
    x = img.reshape((-1, 1) + tuple(shape[-2:])) if img.dim() != 4 else img
    sig = torch.as_tensor(sigma, dtype=torch.float64).flatten().cpu()
    if sig.numel() == 1:
        sig = sig.expand(x.shape[0])
    elif img.dim() != 4 or sig.numel() != x.shape[0]:
        raise ValueError('gaussian_blur: a per-image sigma needs a (B, C, H, '
                         f'W) batch with B = {sig.numel()}, got '
                         f'{tuple(shape)}')
    out = x
    for k, dim in ((kernel_size[0], -2), (kernel_size[1], -1)):
        if k <= 1:
            continue
        if k % 2 == 0:
            raise ValueError(
                f'gaussian_blur: kernel size must be odd, got {k}')
        if (k - 1) // 2 > img.shape[dim] - 1:
            raise ValueError(f'gaussian_blur: kernel size {k} too large for '
                             f'an image side of {img.shape[dim]} pixels')
        out = _blur_1d(out, k, sig, dim)
    return out.reshape(shape)
