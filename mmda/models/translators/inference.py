"""Building trained CycleGAN generators and (tiled) inference with them.

Shared by ``tools/translate.py``, :class:`Day2NightTranslator` (on-the-fly
translation of normalised batches) and the ``Day2Night`` data transform.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn

from mmda.registry import MODELS
from mmda.utils.checkpoint import load_generator_weights


def build_frozen_generator(generator: dict,
                           checkpoint: Union[str, dict],
                           direction: str = 'a2b',
                           ema: bool = True) -> nn.Module:
    """Build ``generator`` (config), load it from a CycleGAN checkpoint,
    freeze it (no grad, eval mode)."""
    gen = MODELS.build(generator)
    load_generator_weights(gen, checkpoint, direction, ema)
    gen.eval()
    gen.requires_grad_(False)
    return gen


def _starts(size: int, tile: int, stride: int) -> List[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def _ramp(n: int, overlap: int, device, dtype) -> torch.Tensor:
    """1-D blending weights: linear ramp over ``overlap`` pixels at each end,
    strictly positive (so uncovered-by-others borders keep weight)."""
    i = torch.arange(n, device=device, dtype=dtype)
    d = torch.minimum(i, n - 1 - i) + 1
    if overlap <= 0:
        return torch.ones_like(i)
    return torch.clamp(d / (overlap + 1), max=1.0)


@torch.no_grad()
def tiled_forward(net: nn.Module,
                  imgs: torch.Tensor,
                  tile_size: Optional[Union[int, Tuple[int, int]]] = None,
                  overlap: int = 32,
                  batch_size: int = 8) -> torch.Tensor:
    """Apply an image-to-image ``net`` to ``imgs`` (B, C, H, W), in
    overlapping tiles when the image is larger than ``tile_size``.

    Tiles overlap by ``overlap`` pixels; outputs are blended with weights
    that ramp linearly over the overlap, which hides tile seams. Tiles are
    pushed through ``net`` in batches of ``batch_size``. With
    ``tile_size=None`` (or an image no larger than a tile) it is a plain
    forward.
    """
    if tile_size is None:
        return net(imgs)
    th, tw = (tile_size, tile_size) if isinstance(tile_size,
                                                  int) else tile_size
    b, _, h, w = imgs.shape
    if h <= th and w <= tw:
        return net(imgs)
    if not 0 <= overlap < min(th, tw):
        raise ValueError(f'tile overlap {overlap} must be in [0, '
                         f'{min(th, tw)}) for tile size {(th, tw)}')
    th, tw = min(th, h), min(tw, w)
    ys = _starts(h, th, th - overlap)
    xs = _starts(w, tw, tw - overlap)
    boxes = [(y, x) for y in ys for x in xs]
    weight = (_ramp(th, overlap, imgs.device, imgs.dtype)[:, None] *
              _ramp(tw, overlap, imgs.device, imgs.dtype)[None, :])
    out = None
    norm = torch.zeros((1, 1, h, w), device=imgs.device, dtype=imgs.dtype)
    for y, x in boxes:
        norm[..., y:y + th, x:x + tw] += weight
    # (B * n_tiles) tiles, processed in chunks.
    tiles = torch.stack([imgs[..., y:y + th, x:x + tw] for y, x in boxes],
                        dim=1).flatten(0, 1)
    for start in range(0, tiles.shape[0], batch_size):
        pred = net(tiles[start:start + batch_size])
        if out is None:
            out = torch.zeros((b, pred.shape[1], h, w), device=imgs.device,
                              dtype=pred.dtype)
        for k in range(pred.shape[0]):
            img_idx, box_idx = divmod(start + k, len(boxes))
            y, x = boxes[box_idx]
            out[img_idx, :, y:y + th, x:x + tw] += pred[k] * weight
    return out / norm
