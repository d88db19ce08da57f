"""Translation grids of the first validation batches, sent to the Visualizer
(CycleGAN validation)."""
from typing import Optional, Sequence

from mmengine.hooks import Hook

from mmda.registry import HOOKS
from mmda.visualization.translation import (GRID_ROWS, has_fields,
                                            translation_grid)


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
            if not has_fields(sample, [k for row in GRID_ROWS for k in row]):
                continue
            runner.visualizer.add_image(
                f'translation_{batch_idx}_{i}', translation_grid(sample),
                step=runner.iter)
