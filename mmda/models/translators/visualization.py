"""Validation of the CycleGAN translator: translated-image grids through the
Visualizer (hook) and simple translation statistics (metric)."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook

from mmda.registry import HOOKS, METRICS

GRID_ROWS = (('real_a', 'fake_b', 'rec_a'), ('real_b', 'fake_a', 'rec_b'))


def _field(sample, key: str):
    """A field of a data sample (``BaseDataElement`` or its ``to_dict()``)."""
    return sample[key] if isinstance(sample, dict) else getattr(sample, key)


def _has_fields(sample, keys) -> bool:
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
    cells = [[to_uint8_rgb(_field(sample, k)) for k in row] for row in rows]
    h = max(c.shape[0] for r in cells for c in r)
    w = max(c.shape[1] for r in cells for c in r)
    grid = np.full((len(rows) * (h + gap) - gap, len(rows[0]) *
                    (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(cells):
        for j, c in enumerate(row):
            y, x = i * (h + gap), j * (w + gap)
            grid[y:y + c.shape[0], x:x + c.shape[1]] = c
    return grid


@HOOKS.register_module()
class TranslationVisualizationHook(Hook):
    """Send translation grids of the first validation batches to the
    runner's Visualizer (e.g. ``LocalVisBackend`` writes them to
    ``{work_dir}/{timestamp}/vis_data/vis_image/``).

    Args:
        num_batches (int): Validation batches to draw. Default: 2.
        max_per_batch (int): Samples per batch to draw. Default: 4.
    """

    priority = 'NORMAL'

    def __init__(self, num_batches: int = 2, max_per_batch: int = 4):
        self.num_batches = num_batches
        self.max_per_batch = max_per_batch

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if batch_idx >= self.num_batches or not outputs:
            return
        for i, sample in enumerate(outputs[:self.max_per_batch]):
            if not _has_fields(sample, [k for row in GRID_ROWS for k in row]):
                continue
            runner.visualizer.add_image(
                f'translation_{batch_idx}_{i}', translation_grid(sample),
                step=runner.iter)


@METRICS.register_module()
class TranslationMetric(BaseMetric):
    """Translation statistics on 0..255 RGB: cycle L1 per domain
    (``cycle_l1_a`` = mean |A->B->A - A|), mean brightness of the real and
    translated images (a day->night generator should bring ``mean_fake_b``
    close to ``mean_real_b``) and their gap ``brightness_gap_b``.
    """

    default_prefix = 'translation'

    def process(self, data_batch, data_samples: Sequence) -> None:
        for s in data_samples:
            r = {}
            for k in ('real_a', 'fake_b', 'rec_a', 'real_b', 'fake_a',
                      'rec_b'):
                r[k] = (_field(s, k).detach().float().clamp(-1, 1) +
                        1) * 127.5
            self.results.append(
                dict(cycle_l1_a=float((r['rec_a'] - r['real_a']).abs().mean()),
                     cycle_l1_b=float((r['rec_b'] - r['real_b']).abs().mean()),
                     mean_real_a=float(r['real_a'].mean()),
                     mean_real_b=float(r['real_b'].mean()),
                     mean_fake_a=float(r['fake_a'].mean()),
                     mean_fake_b=float(r['fake_b'].mean())))

    def compute_metrics(self, results: list) -> dict:
        keys = results[0].keys()
        out = {k: float(np.mean([r[k] for r in results])) for k in keys}
        out['brightness_gap_b'] = abs(out['mean_fake_b'] - out['mean_real_b'])
        return out
