"""Panels of a UDA training step: images, labels, pseudo-labels, masks."""
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

#: Order and titles of the tiles of one panel row (keys of the stash of
#: :meth:`mmda.models.segmentors.base_uda.BaseUDASegmentor.stash_vis`).
PANEL_TILES = (
    ('src_img', 'source'),
    ('src_label', 'source label'),
    ('tgt_img', 'target'),
    ('pseudo_label', 'pseudo-label'),
    ('mask', 'mix mask'),
    ('mixed_img', 'mixed (aug)'),
    ('mixed_label', 'mixed label'),
    ('mixed_weight', 'mixed weight'),
)


def default_palette(num_classes: int = 256) -> np.ndarray:
    """A fixed pseudo-random RGB palette (used without dataset palette)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(num_classes, 3), dtype=np.uint8)


def denormalize(img: Tensor, mean: Sequence[float],
                std: Sequence[float]) -> np.ndarray:
    """(3, H, W) normalised RGB tensor -> (H, W, 3) uint8 RGB."""
    mean_t = torch.as_tensor(mean, dtype=img.dtype).view(3, 1, 1)
    std_t = torch.as_tensor(std, dtype=img.dtype).view(3, 1, 1)
    rgb = (img * std_t + mean_t).clamp(0, 255).round().byte()
    return rgb.permute(1, 2, 0).numpy()


def colorize(label: Tensor, palette: np.ndarray,
             ignore_index: int = 255) -> np.ndarray:
    """(H, W) or (1, H, W) class map -> (H, W, 3) uint8 (ignored: black)."""
    lab = label.reshape(label.shape[-2:]).long().numpy()
    pal = np.zeros((256, 3), np.uint8)
    n = min(len(palette), 256)
    pal[:n] = np.asarray(palette, dtype=np.uint8)[:n]
    out = pal[np.clip(lab, 0, 255)]
    out[lab == ignore_index] = 0
    return out


def gray(x: Tensor) -> np.ndarray:
    """(H, W) or (1, H, W) values in [0, 1] -> (H, W, 3) uint8."""
    v = (x.reshape(x.shape[-2:]).float().clamp(0, 1) * 255).round().byte()
    return np.repeat(v.numpy()[..., None], 3, axis=2)


def make_uda_panel(data: Dict[str, Tensor],
                   mean: Sequence[float],
                   std: Sequence[float],
                   palette: Optional[np.ndarray] = None,
                   max_samples: int = 2,
                   ignore_index: int = 255,
                   titles: bool = True) -> np.ndarray:
    """Tile the stashed tensors of one training step into an RGB image.

    One row per sample (at most ``max_samples``), one column per entry of
    :data:`PANEL_TILES` present in ``data``; images are de-normalised,
    labels colourised with ``palette``, mask and weight shown in grey
    (white = 1).

    Args:
        data (dict): batched tensors (B, ...) from ``stash_vis``.
        mean, std (Sequence[float]): the normalisation of the images (RGB).
        palette (np.ndarray, optional): (C, 3) RGB colours of the classes.
        max_samples (int): rows to draw.
        ignore_index (int): label drawn black.
        titles (bool): add a header row with the tile names.

    Returns:
        np.ndarray: (H_panel, W_panel, 3) uint8 RGB image.
    """
    if palette is None:
        palette = default_palette()
    tiles = [(k, t) for k, t in PANEL_TILES if k in data]
    if not tiles:
        raise KeyError('make_uda_panel: none of the keys '
                       f'{[k for k, _ in PANEL_TILES]} in the stash '
                       f'(got {sorted(data)})')
    B = min(int(data[tiles[0][0]].shape[0]), max_samples)
    rows = []
    for b in range(B):
        row = []
        for key, _ in tiles:
            x = data[key][b]
            if key.endswith('img'):
                t = denormalize(x, mean, std)
            elif key.endswith('label'):
                t = colorize(x, palette, ignore_index)
            else:
                t = gray(x)
            row.append(t)
        h = max(t.shape[0] for t in row)
        row = [np.pad(t, ((0, h - t.shape[0]), (0, 2), (0, 0)),
                      constant_values=255) for t in row]
        rows.append(np.concatenate(row, axis=1))
        rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    panel = np.concatenate(rows[:-1], axis=0)
    if titles:
        tile_w = [data[k][0].shape[-1] + 2 for k, _ in tiles]
        header = np.full((14, panel.shape[1], 3), 255, np.uint8)
        x = 0
        for (key, title), w in zip(tiles, tile_w):
            cv2.putText(header, title, (x + 2, 10), cv2.FONT_HERSHEY_SIMPLEX,
                        0.3, (0, 0, 0), 1, cv2.LINE_AA)
            x += w
        panel = np.concatenate([header, panel], axis=0)
    return np.ascontiguousarray(panel)
