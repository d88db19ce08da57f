"""Optim-wrapper helpers of the one training-step pattern.

Every trainable model of mmda updates each of its networks through that
network's own mmengine optim wrapper: the losses are computed inside
``optim_wrapper.optim_context(model)`` (autocast under ``AmpOptimWrapper``,
no DDP gradient sync while accumulating) and back-propagated by the wrapper
(AMP loss scaling, the non-finite guard), which then clips and steps
(``clip_grad``, ``accumulative_counts``). See
:meth:`mmda.models.segmentors.base_uda.BaseUDASegmentor.train_step`.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import Tensor


def check_optim_wrapper(optim_wrapper, keys: Sequence[str],
                        owner: str) -> Dict[str, OptimWrapper]:
    """The wrappers of the networks ``keys`` of a training step.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): what the runner
            passes to ``train_step``.
        keys (Sequence[str]): names of the networks updated by the step.
            A single ``OptimWrapper`` is accepted for one network.
        owner (str): class name for the error messages.

    Returns:
        dict[str, OptimWrapper]: ``{key: wrapper}`` in the order of ``keys``.
    """
    keys = list(keys)
    if isinstance(optim_wrapper, OptimWrapperDict):  # (a subclass of OW)
        missing = [k for k in keys if k not in optim_wrapper]
        if missing:
            raise KeyError(
                f'{owner}.train_step: optim_wrapper has no optimizer for '
                f'{missing} (it has {list(optim_wrapper.keys())}); configure '
                "optim_wrapper with constructor='MultiOptimWrapperConstructor'"
                f' and one entry per network: {keys}')
        return {k: optim_wrapper[k] for k in keys}
    if isinstance(optim_wrapper, OptimWrapper):
        if len(keys) == 1:
            return {keys[0]: optim_wrapper}
        raise TypeError(
            f'{owner}.train_step: the networks {keys} are updated by their '
            'own optimizers; optim_wrapper must be an OptimWrapperDict '
            "(constructor='MultiOptimWrapperConstructor' with the keys "
            f'{keys}), got one {type(optim_wrapper).__name__}')
    raise TypeError(
        f'{owner}.train_step: expected an OptimWrapper or OptimWrapperDict '
        f'(the runner builds it from the optim_wrapper config), got '
        f'{type(optim_wrapper).__name__}')


def loss_divisor(optim_wrapper: OptimWrapper) -> int:
    """The gradient-accumulation divisor that ``optim_wrapper.scale_loss``
    applies to the next update's loss (1 without accumulation)."""
    one = torch.ones((), dtype=torch.float64)
    return int(round(1.0 / float(optim_wrapper.scale_loss(one))))


class UpdateTracker:
    """One parameter update per network and training step from one or
    several backward passes.

    mmengine's ``OptimWrapper`` counts each ``backward`` call as one update
    (its gradient-accumulation counter, kept equal to the iteration by the
    train loop). A step that back-propagates a network's losses in several
    passes (to free each graph early, e.g. DACS's source loss before the
    mixed forward) makes a single update:

    * the first pass of an update goes through ``optim_wrapper.backward``
      (counted once; AMP loss scaling; the non-finite guard checks it);
    * later passes of the same update are divided by the same
      accumulation divisor, scaled by the same AMP loss scaler and
      back-propagated without being counted again;
    * :meth:`step` then steps (clips) and zeroes when the wrapper says so
      (``should_update``), exactly as ``OptimWrapper.update_params``.

    A single pass followed by :meth:`step` is ``update_params(loss)``.
    """

    def __init__(self) -> None:
        self._pending: Dict[int, tuple] = {}
        #: updates finished by :meth:`step` since :meth:`reset`
        self.num_updates = 0

    def reset(self) -> None:
        """Start a training step (forget the passes of an unfinished one)."""
        self._pending.clear()
        self.num_updates = 0

    @property
    def pending(self):
        """Wrappers with a backward pass and no step yet, in order."""
        return [w for w, _ in self._pending.values()]

    def backward(self, optim_wrapper: OptimWrapper, loss: Tensor,
                 **kwargs) -> None:
        """Back-propagate one loss of ``optim_wrapper``'s update; ``kwargs``
        go to ``Tensor.backward`` (e.g. ``inputs=``, ``retain_graph=``)."""
        entry = self._pending.get(id(optim_wrapper))
        if entry is None:
            divisor = loss_divisor(optim_wrapper)
            optim_wrapper.backward(optim_wrapper.scale_loss(loss), **kwargs)
            self._pending[id(optim_wrapper)] = (optim_wrapper, divisor)
            return
        loss = loss / entry[1]
        scaler = getattr(optim_wrapper, 'loss_scaler', None)
        if scaler is not None:  # AmpOptimWrapper
            loss = scaler.scale(loss)
        loss.backward(**kwargs)

    def step(self, optim_wrapper: OptimWrapper,
             owner: Optional[str] = None) -> None:
        """Finish ``optim_wrapper``'s update of this step."""
        if self._pending.pop(id(optim_wrapper), None) is None:
            raise RuntimeError(
                f'{owner or "train_step"}: optimizer step without a backward '
                'pass of its network in this training step')
        self.num_updates += 1
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()

    def update_params(self, optim_wrapper: OptimWrapper, loss: Tensor,
                      **kwargs) -> None:
        """:meth:`backward` then :meth:`step` (one pass, one update)."""
        self.backward(optim_wrapper, loss, **kwargs)
        self.step(optim_wrapper)
