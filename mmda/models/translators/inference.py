"""Loading trained CycleGAN generators and (tiled) inference with them.

Shared by ``tools/translate.py``, :class:`Day2NightTranslator` (on-the-fly
translation of normalised batches) and the ``Day2Night`` data transform.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from mmda.registry import MODELS

DIRECTIONS = ('a2b', 'b2a')


def generator_prefix(direction: str = 'a2b', ema: bool = True) -> str:
    """State-dict prefix of a :class:`CycleGAN` generator."""
    if direction not in DIRECTIONS:
        raise ValueError(f'direction must be one of {DIRECTIONS}, got '
                         f'{direction!r}')
    return f'gen_{direction}_ema.' if ema else f'gen_{direction}.'


def _read_state_dict(checkpoint: Union[str, dict]) -> Dict[str, torch.Tensor]:
    if isinstance(checkpoint, str):
        if not osp.isfile(checkpoint):
            from mmda.utils.weights import missing_message
            raise FileNotFoundError(
                'generator checkpoint: ' + missing_message(checkpoint) +
                ' In a mean-teacher config the key is '
                'model.translator.checkpoint (Day2NightTranslator); for '
                "tools/translate.py it is the checkpoint argument.")
        # mmengine checkpoints hold a MessageHub state etc.; ``import mmda``
        # allow-lists those types for torch's weights_only loader.
        from mmda.utils import allow_mmengine_checkpoint_globals
        allow_mmengine_checkpoint_globals()
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    else:
        ckpt = checkpoint
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        raise TypeError(f'generator checkpoint {checkpoint!r}: expected a '
                        f'(mmengine) state dict, got {type(ckpt).__name__}')
    return {(k[7:] if k.startswith('module.') else k): v
            for k, v in ckpt.items()}


def load_generator_weights(generator: nn.Module,
                           checkpoint: Union[str, dict],
                           direction: str = 'a2b',
                           ema: bool = True) -> str:
    """Load one generator out of a :class:`CycleGAN` checkpoint.

    Takes the keys ``gen_{direction}_ema.*`` (``ema=True``, the generator
    used for translation) or ``gen_{direction}.*``; a checkpoint holding a
    bare generator state dict (keys of ``generator.state_dict()``) is also
    accepted. Raises a ``KeyError`` naming the missing keys, or a
    ``ValueError`` naming shape mismatches, when the checkpoint does not fit
    the configured generator.

    Returns:
        str: The prefix the weights were taken from ('' for a bare dict).
    """
    state = _read_state_dict(checkpoint)
    name = checkpoint if isinstance(checkpoint, str) else '<state dict>'
    own = generator.state_dict()
    prefix = generator_prefix(direction, ema)
    if any(k.startswith(prefix) for k in state):
        sub = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix)}
    elif all(k in state for k in own):
        prefix, sub = '', state
    else:
        gens = sorted({k.split('.', 1)[0] for k in state
                       if k.startswith('gen_')})
        hint = ''
        if ema and f'gen_{direction}' in gens:
            hint = ' (the raw generator is there: use ema=False / --no-ema)'
        raise KeyError(
            f'generator checkpoint {name!r} has no keys "{prefix}*" (the '
            f'{"EMA " if ema else ""}{direction} generator of a CycleGAN '
            f'checkpoint); generator prefixes found: {gens or "none"}{hint}; '
            f'missing e.g. {[prefix + k for k in list(own)[:3]]}')
    missing = [prefix + k for k in own if k not in sub]
    unexpected = [prefix + k for k in sub if k not in own]
    if missing or unexpected:
        raise KeyError(
            f'generator checkpoint {name!r} does not fit the configured '
            f'{type(generator).__name__}: missing keys {missing[:8]}'
            f'{"..." if len(missing) > 8 else ""} ({len(missing)}), '
            f'unexpected keys {unexpected[:8]}'
            f'{"..." if len(unexpected) > 8 else ""} ({len(unexpected)}); '
            'check base_channels / num_blocks / upsample_mode / norm_cfg')
    bad = [(prefix + k, tuple(sub[k].shape), tuple(v.shape))
           for k, v in own.items() if sub[k].shape != v.shape]
    if bad:
        raise ValueError(
            f'generator checkpoint {name!r} does not fit the configured '
            f'{type(generator).__name__}: shape mismatch (key, checkpoint, '
            f'model) {bad[:4]}; check base_channels / num_blocks')
    generator.load_state_dict(sub, strict=True)
    return prefix


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
