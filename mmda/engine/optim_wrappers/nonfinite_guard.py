"""Skip optimizer steps whose loss or gradients are not finite.

A NaN/Inf loss back-propagated into the student would then flow into the EMA
teacher and the discriminators and silently ruin the run. The guarded
wrappers check every loss passed to ``backward`` (and the gradients before
``step``); a bad step is skipped (gradients cleared, nothing updated), counted
in the log as ``nonfinite_skipped``, and after ``max_consecutive`` bad steps in
a row training stops with :class:`NonFiniteLossError` — the checkpoints already
written are from good steps and stay intact.

Under DDP the finiteness flag is all-reduced so every rank skips together
(otherwise one rank would wait forever in the gradient all-reduce).

``configs/_base_/default_runtime.py`` declares
:class:`~mmda.engine.hooks.NonFiniteGuardHook`, which turns the runner's
``OptimWrapper``/``AmpOptimWrapper`` instances (also inside an
``OptimWrapperDict``) into these guarded versions before the run (limit: the
top-level config key ``max_nonfinite_steps``, default 10, 0 disables the
guard), and :class:`~mmda.engine.hooks.NormStatsGuardHook`, which undoes the
BatchNorm running-statistics update of a skipped step's forward. Every entry
point (``tools/train.py``, ``tools/demo.py``, the benchmarks,
``Runner.from_cfg``) therefore trains with the same guards.
"""
import weakref

import torch
import torch.distributed as dist
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from mmda.registry import OPTIM_WRAPPERS


class NonFiniteLossError(RuntimeError):
    """Too many consecutive optimizer steps with a non-finite loss/gradient."""


def _all_finite(flag: bool) -> bool:
    if dist.is_available() and dist.is_initialized():
        t = torch.tensor([1.0 if flag else 0.0])
        if dist.get_backend() == 'nccl':
            t = t.cuda()
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item() > 0)
    return flag


class _GuardMixin:

    def _init_guard(self, max_consecutive: int) -> None:
        if max_consecutive < 1:
            raise ValueError(
                f'max_consecutive must be >= 1, got {max_consecutive}')
        self.max_consecutive = max_consecutive
        self._bad_in_step = False
        self.consecutive_bad = 0
        self.total_skipped = 0

    def _grads_finite(self) -> bool:
        grads = [p.grad for g in self.optimizer.param_groups for p in g['params']
                 if p.grad is not None]
        if not grads:
            return True
        norms = torch._foreach_norm(grads)
        return bool(torch.isfinite(torch.stack(norms)).all())

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        ok = _all_finite(bool(torch.isfinite(loss.detach()).all()))
        if not ok:
            self._bad_in_step = True
            # counted like any backward pass (gradient accumulation), but
            # nothing non-finite reaches the parameters' gradients
            loss = loss.detach().new_zeros((), requires_grad=True)
            kwargs.pop('inputs', None)
        super().backward(loss, **kwargs)

    def _skip_or_count(self, grads_ok: bool) -> bool:
        """Return True when this step must be skipped."""
        bad = self._bad_in_step or not grads_ok
        self._bad_in_step = False
        if not bad:
            self.consecutive_bad = 0
            return False
        self.consecutive_bad += 1
        self.total_skipped += 1
        self.message_hub.update_scalar('train/nonfinite_skipped',
                                       self.total_skipped)
        print_log(
            f'non-finite loss or gradient: optimizer step skipped '
            f'({self.consecutive_bad} in a row, {self.total_skipped} in total)',
            logger='current', level=30)
        self.optimizer.zero_grad()
        if self.consecutive_bad >= self.max_consecutive:
            raise NonFiniteLossError(
                f'{self.consecutive_bad} consecutive optimizer steps had a '
                'non-finite loss or gradient (limit max_nonfinite_steps='
                f'{self.max_consecutive}); training stopped. The last '
                'checkpoint in the work dir was written before these steps. '
                'Lower the learning rate or check the data/labels.')
        return True


@OPTIM_WRAPPERS.register_module()
class GuardedOptimWrapper(_GuardMixin, OptimWrapper):
    """:class:`OptimWrapper` that skips non-finite steps (see module doc)."""

    def __init__(self, *args, max_consecutive: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_guard(max_consecutive)

    def step(self, **kwargs) -> None:
        grads_ok = _all_finite(self._grads_finite())
        if self._skip_or_count(grads_ok):
            return
        super().step(**kwargs)


@OPTIM_WRAPPERS.register_module()
class GuardedAmpOptimWrapper(_GuardMixin, AmpOptimWrapper):
    """:class:`AmpOptimWrapper` that skips steps with a non-finite loss.

    Overflowing *gradients* are already handled by the loss scaler, so only
    the loss is checked here.
    """

    def __init__(self, *args, max_consecutive: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_guard(max_consecutive)

    def step(self, **kwargs) -> None:
        if self._skip_or_count(True):
            return
        super().step(**kwargs)


_GUARDED = {
    'OptimWrapper': 'GuardedOptimWrapper',
    'AmpOptimWrapper': 'GuardedAmpOptimWrapper',
}
_GUARDED_CLASSES = {
    OptimWrapper: GuardedOptimWrapper,
    AmpOptimWrapper: GuardedAmpOptimWrapper,
}


def _counted_step(wrapper):
    """``wrapper.step`` counting ``_global_step`` as mmengine's param
    schedulers' ``with_counter`` does (weak reference: no cycle)."""
    ref = weakref.ref(wrapper)
    func = type(wrapper).step

    def step(*args, **kwargs):
        instance = ref()
        instance._global_step += 1
        return func(instance, *args, **kwargs)

    step._with_counter = True
    return step


def guard_optim_wrapper(optim_wrapper, max_consecutive: int = 10) -> list:
    """Turn built ``OptimWrapper`` / ``AmpOptimWrapper`` instances (also the
    members of an ``OptimWrapperDict``) into their guarded versions in place;
    their optimizer, loss scaler and counters are kept. Wrappers that are
    already guarded keep their limit; other wrapper types are left as they
    are (a warning names them).

    Returns:
        list[str]: the names of the wrappers that are guarded now.
    """
    if isinstance(optim_wrapper, OptimWrapperDict):
        named = list(optim_wrapper.items())
    else:
        named = [('optim_wrapper', optim_wrapper)]
    guarded = []
    for name, w in named:
        if isinstance(w, _GuardMixin):
            guarded.append(name)
            continue
        target = _GUARDED_CLASSES.get(type(w))
        if target is None:
            print_log(f'non-finite guard: {name} is a {type(w).__name__}, '
                      'not an OptimWrapper/AmpOptimWrapper; it is not '
                      'guarded', logger='current', level=30)
            continue
        w.__class__ = target
        w._init_guard(max_consecutive)
        if 'step' in vars(w):
            # mmengine's param schedulers (built before the hooks run) wrap
            # the instance's ``step`` into a step counter bound to the
            # unguarded class: count the guarded ``step`` instead
            del w.step
            w.step = _counted_step(w)
        guarded.append(name)
    return guarded


def apply_nonfinite_guard(cfg) -> None:
    """Switch the config's optim wrapper(s) to the guarded versions.

    Handles a single wrapper and a dict of wrappers (several optimizers).
    ``cfg.max_nonfinite_steps`` (default 10) sets the limit; 0 disables.
    """
    limit = cfg.get('max_nonfinite_steps', 10)
    if not limit:
        return
    ow = cfg.get('optim_wrapper', None)
    if ow is None:
        return

    def upgrade(wrapper):
        t = wrapper.get('type', 'OptimWrapper')
        if t in _GUARDED:
            wrapper['type'] = _GUARDED[t]
            wrapper.setdefault('max_consecutive', limit)

    if 'optimizer' in ow:
        upgrade(ow)
    else:
        for value in ow.values():
            if isinstance(value, dict) and 'optimizer' in value:
                upgrade(value)
    # the skipped batch's forward already moved the BatchNorm statistics
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') == 'NormStatsGuardHook' for h in hooks):
        hooks.append(dict(type='NormStatsGuardHook'))
    cfg.custom_hooks = hooks
