"""Translated-image grids of the CycleGAN (A, A->B, A->B->A / B, B->A,
B->A->B), drawn by ``TranslationVisualizationHook``."""

import numpy as np
import torch

GRID_ROWS = (('real_a', 'fake_b', 'rec_a'), ('real_b', 'fake_a', 'rec_b'))


def sample_field(sample, key: str):
    """A field of a data sample (``BaseDataElement`` or its ``to_dict()``)."""
    return sample[key] if isinstance(sample, dict) else getattr(sample, key)


def has_fields(sample, keys) -> bool:
    if isinstance(sample, dict):
        return all(k in sample for k in keys)
    return all(hasattr(sample, k) for k in keys)


def to_uint8_rgb(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) tensor in [-1, 1] -> (H, W, 3) uint8."""
    img = ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round()
    return img.byte().permute(1, 2, 0).cpu().numpy()


def translation_grid(sample, rows=GRID_ROWS, gap: int = 2) -> np.ndarray:
    """Grid image: row 1 = A, A->B, A->B->A; row 2 = B, B->A, B->A->B.
    The two domains may differ in size: each cell is padded to the
    largest one."""
    cells = [[to_uint8_rgb(sample_field(sample, k)) for k in row]
             for row in rows]
    h = max(c.shape[0] for r in cells for c in r)
    w = max(c.shape[1] for r in cells for c in r)
    grid = np.full((len(rows) * (h + gap) - gap, len(rows[0]) *
                    (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(cells):
        for j, c in enumerate(row):
            y, x = i * (h + gap), j * (w + gap)
            grid[y:y + c.shape[0], x:x + c.shape[1]] = c
    return grid
