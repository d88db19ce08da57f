"""Generic schedules of model attributes (confidence thresholds, loss weights).

Examples (METHODS.md, Scherer et al. §4.2): the consistency confidence
threshold rho rises linearly 0.5 -> 0.9 over training; the SSL weight
lambda_ssl rises linearly 50 -> 100 after a 10k-iteration warm-up with no SSL
loss::

    custom_hooks = [
        dict(type='ConfidenceRampHook', ramps=[
            dict(attr='pseudo_threshold', start=0.5, end=0.9),
            dict(attr='ssl_weight', start=50., end=100., begin=10000,
                 warmup_value=0.),
        ])
    ]

The value is a pure function of ``runner.iter``, recomputed before every
iteration, so it is automatically right after resuming from a checkpoint.
"""
import math
from typing import List, Optional, Sequence

import torch
from mmengine.hooks import Hook

from mmda.models.utils import unwrap
from mmda.registry import HOOKS

RAMP_MODES = ('linear', 'cosine', 'sigmoid', 'constant')


class Ramp:
    """One schedule ``iteration -> value``.

    Args:
        attr (str): attribute of the model to set; dotted paths such as
            ``'decode_head.loss_decode.loss_weight'`` are allowed.
        start (float): value at ``begin``.
        end (float): value at and after ``end_iter``.
        begin (int): first iteration of the ramp.
        end_iter (int, optional): iteration where ``end`` is reached;
            ``None`` means the runner's ``max_iters``.
        mode (str): ``'linear'``; ``'cosine'`` (half cosine, zero slope at
            both ends); ``'sigmoid'`` = the sigmoid ramp-up of Laine & Aila
            and of the ClassMix/DACS thesis eq. 2.13,
            ``start + (end - start) * exp(-c (1 - t)^2)`` with
            ``t = (k - begin) / (end_iter - begin)`` (so it starts at
            ``start + (end - start) * exp(-c)``, not exactly at ``start``);
            ``'constant'`` (``start`` throughout the ramp, then ``end``).
        warmup_value (float, optional): value before ``begin``; ``None``
            means ``start``.
        sigmoid_c (float): the slope ``c`` of the sigmoid mode (5).
    """

    def __init__(self,
                 attr: str,
                 start: float,
                 end: float,
                 begin: int = 0,
                 end_iter: Optional[int] = None,
                 mode: str = 'linear',
                 warmup_value: Optional[float] = None,
                 sigmoid_c: float = 5.0):
        if not isinstance(attr, str) or not attr or any(
                not p for p in attr.split('.')):
            raise ValueError(f'ConfidenceRampHook: attr must be a non-empty '
                             f'(dotted) attribute name, got {attr!r}')
        if mode not in RAMP_MODES:
            raise ValueError(f'ConfidenceRampHook: ramp {attr!r} has unknown '
                             f'mode {mode!r}, expected one of {RAMP_MODES}')
        if begin < 0:
            raise ValueError(f'ConfidenceRampHook: ramp {attr!r}: begin must '
                             f'be >= 0, got {begin}')
        if end_iter is not None and end_iter <= begin:
            raise ValueError(f'ConfidenceRampHook: ramp {attr!r}: end_iter '
                             f'({end_iter}) must be > begin ({begin})')
        self.attr = attr
        self.start = float(start)
        self.end = float(end)
        self.begin = int(begin)
        self.end_iter = None if end_iter is None else int(end_iter)
        self.mode = mode
        self.warmup_value = None if warmup_value is None else float(
            warmup_value)
        self.sigmoid_c = float(sigmoid_c)

    def value(self, iteration: int, max_iters: Optional[int] = None) -> float:
        """Value of the schedule at ``iteration`` (0-based)."""
        end_iter = self.end_iter if self.end_iter is not None else max_iters
        if end_iter is None:
            raise ValueError(f'ConfidenceRampHook: ramp {self.attr!r} has '
                             'end_iter=None and the runner has no max_iters')
        if end_iter <= self.begin:
            raise ValueError(f'ConfidenceRampHook: ramp {self.attr!r}: '
                             f'end_iter ({end_iter}) must be > begin '
                             f'({self.begin})')
        if iteration < self.begin:
            return self.start if self.warmup_value is None \
                else self.warmup_value
        if iteration >= end_iter:
            return self.end
        t = (iteration - self.begin) / (end_iter - self.begin)
        if self.mode == 'linear':
            f = t
        elif self.mode == 'cosine':
            f = 0.5 * (1.0 - math.cos(math.pi * t))
        elif self.mode == 'sigmoid':
            f = math.exp(-self.sigmoid_c * (1.0 - t)**2)
        else:  # constant
            f = 0.0
        return self.start + (self.end - self.start) * f


def _resolve(model, path: str):
    """Return (owner object, final attribute name) of a dotted path."""
    parts = path.split('.')
    owner = model
    for i, part in enumerate(parts[:-1]):
        if not hasattr(owner, part):
            raise AttributeError(
                f'ConfidenceRampHook: {type(model).__name__} has no attribute '
                f'{".".join(parts[:i + 1])!r} (ramp attr {path!r})')
        owner = getattr(owner, part)
    if not hasattr(owner, parts[-1]):
        raise AttributeError(
            f'ConfidenceRampHook: {type(model).__name__} has no attribute '
            f'{path!r}; the hook only schedules existing attributes')
    return owner, parts[-1]


@HOOKS.register_module()
class ConfidenceRampHook(Hook):
    """Set model attributes from schedules of the training iteration.

    Before every training iteration ``k = runner.iter`` each ramp's value is
    computed and assigned with ``setattr`` on the (unwrapped) model (tensor
    attributes such as buffers are filled in place); the values are also
    logged as ``train/<attr>``.

    Args:
        ramps (list[dict]): ramp configs, keys as :class:`Ramp`
            (``attr``, ``start``, ``end``, ``begin``, ``end_iter``, ``mode``,
            ``warmup_value``, ``sigmoid_c``).
        log (bool): log the values through the message hub.
        priority (str | int): hook priority.
    """

    priority = 'NORMAL'

    def __init__(self,
                 ramps: Sequence[dict],
                 log: bool = True,
                 priority: Optional[str] = 'NORMAL'):
        if isinstance(ramps, dict):
            ramps = [ramps]
        if not ramps:
            raise ValueError('ConfidenceRampHook: `ramps` must be a non-empty '
                             'list of dicts')
        self.ramps: List[Ramp] = []
        for i, cfg in enumerate(ramps):
            if not isinstance(cfg, dict):
                raise TypeError(f'ConfidenceRampHook: ramps[{i}] must be a '
                                f'dict, got {type(cfg).__name__}')
            missing = [k for k in ('attr', 'start', 'end') if k not in cfg]
            if missing:
                raise KeyError(f'ConfidenceRampHook: ramps[{i}] misses keys '
                               f'{missing} (needs attr, start, end)')
            try:
                self.ramps.append(Ramp(**cfg))
            except TypeError as e:
                raise TypeError(f'ConfidenceRampHook: ramps[{i}] = {cfg}: '
                                f'{e}') from e
        attrs = [r.attr for r in self.ramps]
        if len(set(attrs)) != len(attrs):
            raise ValueError(f'ConfidenceRampHook: duplicated attrs {attrs}')
        self.log = bool(log)
        if priority is not None:
            self.priority = priority

    @staticmethod
    def _model(runner):
        return unwrap(runner.model)

    @staticmethod
    def _max_iters(runner) -> Optional[int]:
        try:
            return runner.max_iters
        except Exception:  # noqa: BLE001 - no train loop built
            return None

    def values(self, iteration: int, max_iters: Optional[int]) -> dict:
        """``{attr: value}`` of all ramps at ``iteration``."""
        return {r.attr: r.value(iteration, max_iters) for r in self.ramps}

    def _apply(self, runner, iteration: int) -> None:
        model = self._model(runner)
        max_iters = self._max_iters(runner)
        for ramp in self.ramps:
            owner, name = _resolve(model, ramp.attr)
            value = ramp.value(iteration, max_iters)
            current = getattr(owner, name)
            if isinstance(current, torch.Tensor):
                # e.g. a registered buffer: update in place (keeps dtype,
                # device and the checkpoint entry)
                with torch.no_grad():
                    current.fill_(value)
            else:
                setattr(owner, name, value)
            if self.log:
                runner.message_hub.update_scalar(f'train/{ramp.attr}', value)

    def before_train(self, runner) -> None:
        """Check every attribute path and set the values of the first
        iteration (also after resume)."""
        self._apply(runner, runner.iter)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._apply(runner, runner.iter)
