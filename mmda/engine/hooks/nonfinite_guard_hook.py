"""Guard the runner's optim wrappers against non-finite losses/gradients.

Declared in ``configs/_base_/default_runtime.py`` (``default_hooks.
nonfinite_guard``), so that every way of building a runner from a config
(``tools/train.py``, ``tools/demo.py``, the benchmarks, a plain
``Runner.from_cfg(cfg)``) trains with the guard; set
``default_hooks.nonfinite_guard=None`` (or ``max_nonfinite_steps=0``) to
train without it. See :mod:`mmda.engine.optim_wrappers.nonfinite_guard`.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper

from mmda.engine.optim_wrappers.nonfinite_guard import guard_optim_wrapper
from mmda.registry import HOOKS


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Before the run, turn the runner's ``OptimWrapper`` /
    ``AmpOptimWrapper`` (each member of an ``OptimWrapperDict``) into
    ``GuardedOptimWrapper`` / ``GuardedAmpOptimWrapper``.

    Args:
        max_consecutive (int, optional): consecutive skipped steps after
            which training stops with ``NonFiniteLossError``. Defaults to the
            top-level config key ``max_nonfinite_steps`` (10 when absent);
            0 disables the guard.
    """

    priority = 'VERY_HIGH'

    def __init__(self, max_consecutive: Optional[int] = None) -> None:
        if max_consecutive is not None and max_consecutive < 0:
            raise ValueError('NonFiniteGuardHook: max_consecutive must be >= '
                             f'0, got {max_consecutive}')
        self.max_consecutive = max_consecutive
        self.guarded = []

    def before_run(self, runner) -> None:
        limit = self.max_consecutive
        if limit is None:
            cfg = getattr(runner, 'cfg', None)
            limit = cfg.get('max_nonfinite_steps', 10) if cfg is not None \
                else 10
        ow = getattr(runner, 'optim_wrapper', None)
        if not limit or not isinstance(ow, OptimWrapper):
            return  # disabled, or not training (val/test runs)
        self.guarded = guard_optim_wrapper(ow, int(limit))
