"""Undo the normalisation-statistics update of a skipped optimizer step.

The guarded optim wrappers (``mmda/engine/optim_wrappers/nonfinite_guard.py``)
skip the step of a batch whose loss or gradients are not finite, so no
parameter moves. The *forward* of that batch has already run in training
mode, though: every BatchNorm layer has folded the batch's statistics (NaN or
Inf when the activations were) into its running mean and variance, and the
EMA teacher, which averages those buffers, would inherit them after the step.

:class:`NormStatsGuardHook` snapshots the running statistics of the model's
normalisation layers before every iteration and restores them after an
iteration in which any guarded wrapper skipped its step (with several
optimizers, e.g. a segmentor and discriminators, the whole model's statistics
are restored: the batch that made one loss non-finite is suspect for all
networks; the skip is all-reduced under DDP, so every rank restores). It
runs before
:class:`~mmda.engine.hooks.EMATeacherHook` (priority ``'ABOVE_NORMAL'``), so
the teacher only ever averages statistics of good steps. ``tools/train.py``
adds it whenever it switches the optim wrappers to the guarded ones.
"""
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict
from torch.nn.modules.batchnorm import _NormBase

from mmda.models.utils import unwrap
from mmda.registry import HOOKS


def norm_stat_buffers(model: torch.nn.Module) -> List[torch.Tensor]:
    """Running statistics of every BatchNorm/InstanceNorm-style layer.

    ``running_mean``, ``running_var`` and ``num_batches_tracked`` of the
    ``_NormBase`` modules that track them (SyncBatchNorm included), in
    module order.
    """
    out = []
    for m in model.modules():
        if isinstance(m, _NormBase) and m.track_running_stats:
            for name in ('running_mean', 'running_var',
                         'num_batches_tracked'):
                buf = getattr(m, name, None)
                if isinstance(buf, torch.Tensor):
                    out.append(buf)
    return out


def _skip_counts(optim_wrapper) -> Optional[List[int]]:
    """``total_skipped`` of every guarded wrapper (None if there is none)."""
    if optim_wrapper is None:
        return None
    wrappers = list(optim_wrapper.values()) \
        if isinstance(optim_wrapper, OptimWrapperDict) else [optim_wrapper]
    counts = [w.total_skipped for w in wrappers
              if hasattr(w, 'total_skipped')]
    return counts or None


@HOOKS.register_module()
class NormStatsGuardHook(Hook):
    """Restore the normalisation running statistics after a skipped step.

    Needs the guarded optim wrappers (``GuardedOptimWrapper`` /
    ``GuardedAmpOptimWrapper``); without them it does nothing. The snapshot
    is one ``torch._foreach_copy_`` of the (small) statistics buffers per
    iteration.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self._buffers: Optional[List[torch.Tensor]] = None
        self._snapshot: Optional[List[torch.Tensor]] = None
        self._counts: Optional[List[int]] = None
        self.restored = 0

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        self._buffers = norm_stat_buffers(model)
        self._snapshot = [b.detach().clone() for b in self._buffers]

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._counts = _skip_counts(getattr(runner, 'optim_wrapper', None))
        if self._counts is not None and self._buffers:
            torch._foreach_copy_(self._snapshot, self._buffers)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._counts is None or not self._buffers:
            return
        now = _skip_counts(runner.optim_wrapper)
        if now != self._counts:
            torch._foreach_copy_(self._buffers, self._snapshot)
            self.restored += 1
