"""Generic schedules of model attributes (confidence thresholds, loss weights).

Example (Scherer et al. §4.2, the schedule of
:class:`~mmda.models.segmentors.mean_teacher.MeanTeacherUDA`): the
consistency confidence threshold rho (``confidence_threshold``) rises
linearly 0.5 -> 0.9 over training; the SSL weight lambda_ssl
(``ssl_weight``) rises linearly 50 -> 100 after a 10k-iteration warm-up (of
50k) with no SSL loss::

    custom_hooks = [
        dict(type='ParamRampHook', ramps=[
            dict(attr='confidence_threshold', start=0.5, end=0.9),
            dict(attr='ssl_weight', start=50., end=100., begin_ratio=0.2,
                 warmup_value=0.),
        ])
    ]

Any attribute works, including dotted paths to submodules, e.g.
``attr='decode_head.loss_decode.loss_weight'``.

Where a ramp's position belongs to "the schedule" (a warm-up of a fifth of
the training, a ramp over the whole training), give it relative to
``train_cfg.max_iters``: ``begin_ratio`` / ``end_ratio`` (fractions), or leave
``end_iter`` out (= ``max_iters``). The hook resolves them when training
starts, so shortening a run is the single override
``--cfg-options train_cfg.max_iters=N`` and every ramp follows. ``begin`` /
``end_iter`` stay absolute iteration numbers; a ramp that does not fit in
``max_iters`` stops the run with an error naming the key.

The value is a pure function of ``runner.iter``, recomputed before every
iteration, so it is automatically right after resuming from a checkpoint.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook

from mmda.models.uda.pseudo_label import sigmoid_rampup
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
        begin (int, optional): first iteration of the ramp (absolute).
            Defaults to 0 unless ``begin_ratio`` is given.
        end_iter (int, optional): iteration where ``end`` is reached
            (absolute); ``None`` (and no ``end_ratio``) means the runner's
            ``max_iters``.
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
        begin_ratio (float, optional): ``begin`` as a fraction in [0, 1) of
            the runner's ``max_iters`` (``floor(begin_ratio * max_iters)``),
            resolved when training starts. Exclusive with ``begin``.
        end_ratio (float, optional): ``end_iter`` as a fraction in (0, 1] of
            ``max_iters`` (``ceil(end_ratio * max_iters)``). Exclusive with
            ``end_iter``.
        where (str): how error messages name this ramp (the hook passes
            ``ParamRampHook ramps[i]``).
    """

    def __init__(self,
                 attr: str,
                 start: float,
                 end: float,
                 begin: Optional[int] = None,
                 end_iter: Optional[int] = None,
                 mode: str = 'linear',
                 warmup_value: Optional[float] = None,
                 sigmoid_c: float = 5.0,
                 begin_ratio: Optional[float] = None,
                 end_ratio: Optional[float] = None,
                 where: str = 'ParamRampHook ramp'):
        if not isinstance(attr, str) or not attr or any(
                not p for p in attr.split('.')):
            raise ValueError(f'{where}: attr must be a non-empty '
                             f'(dotted) attribute name, got {attr!r}')
        where = f'{where} (attr {attr!r})'
        self.where = where
        if mode not in RAMP_MODES:
            raise ValueError(f'{where} has unknown '
                             f'mode {mode!r}, expected one of {RAMP_MODES}')
        if begin is not None and begin_ratio is not None:
            raise ValueError(
                f'{where}: give begin (absolute iteration, got {begin}) or '
                f'begin_ratio (fraction of train_cfg.max_iters, got '
                f'{begin_ratio}), not both')
        if end_iter is not None and end_ratio is not None:
            raise ValueError(
                f'{where}: give end_iter (absolute iteration, got '
                f'{end_iter}) or end_ratio (fraction of train_cfg.max_iters, '
                f'got {end_ratio}), not both')
        for key, v in (('begin', begin), ('end_iter', end_iter)):
            if v is not None and (isinstance(v, bool) or v != int(v)):
                raise ValueError(
                    f'{where}: {key} is an iteration number, got {v!r}; '
                    f'use {"begin_ratio" if key == "begin" else "end_ratio"} '
                    'for a fraction of train_cfg.max_iters')
        if begin is not None and begin < 0:
            raise ValueError(f'{where}: begin must '
                             f'be >= 0, got {begin}')
        if begin_ratio is not None and not 0.0 <= begin_ratio < 1.0:
            raise ValueError(f'{where}: begin_ratio must be in [0, 1) (a '
                             f'fraction of train_cfg.max_iters), got '
                             f'{begin_ratio}')
        if end_ratio is not None and not 0.0 < end_ratio <= 1.0:
            raise ValueError(f'{where}: end_ratio must be in (0, 1] (a '
                             f'fraction of train_cfg.max_iters), got '
                             f'{end_ratio}')
        if begin_ratio is not None and end_ratio is not None and \
                end_ratio <= begin_ratio:
            raise ValueError(f'{where}: end_ratio ({end_ratio}) must be > '
                             f'begin_ratio ({begin_ratio})')
        b = 0 if begin is None else int(begin)
        if end_iter is not None and begin_ratio is None and end_iter <= b:
            raise ValueError(f'{where}: end_iter '
                             f'({end_iter}) must be > begin ({b})')
        self.attr = attr
        self.start = float(start)
        self.end = float(end)
        self.begin = None if begin_ratio is not None else b
        self.end_iter = None if end_iter is None else int(end_iter)
        self.begin_ratio = None if begin_ratio is None else float(begin_ratio)
        self.end_ratio = None if end_ratio is None else float(end_ratio)
        self.mode = mode
        self.warmup_value = None if warmup_value is None else float(
            warmup_value)
        self.sigmoid_c = float(sigmoid_c)

    @property
    def relative(self) -> bool:
        """Whether a position depends on ``max_iters``."""
        return self.begin is None or self.end_iter is None

    def resolve(self, max_iters: Optional[int]) -> Tuple[int, int]:
        """``(begin, end_iter)`` in iterations for a run of ``max_iters``.

        Raises a ``ValueError`` naming the key when the ramp is relative and
        there is no ``max_iters``, or when it does not fit in it.
        """
        if self.relative and max_iters is None:
            raise ValueError(
                f'{self.where} is given relative to train_cfg.max_iters '
                '(begin_ratio / end_ratio / end_iter=None), but the runner '
                'has no max_iters')
        if self.begin is not None:
            begin = self.begin
        else:
            begin = int(math.floor(self.begin_ratio * max_iters))
        if self.end_iter is not None:
            end_iter = self.end_iter
        elif self.end_ratio is not None:
            end_iter = int(math.ceil(self.end_ratio * max_iters))
        else:
            end_iter = int(max_iters)
        if end_iter <= begin:
            key = 'end_iter' if self.end_iter is not None else (
                'end_ratio' if self.end_ratio is not None else
                'end_iter=None (= train_cfg.max_iters)')
            raise ValueError(
                f'{self.where}: {key} resolves to iteration {end_iter}, '
                f'not after begin ({begin}'
                f'{"" if self.begin is not None else " from begin_ratio"})'
                f'; train_cfg.max_iters={max_iters}. Give the ramp '
                'relative to the schedule (begin_ratio / end_ratio) or '
                'change begin')
        return begin, end_iter

    def check_fits(self, max_iters: Optional[int]) -> Tuple[int, int]:
        """``resolve`` plus: the ramp starts before ``max_iters`` and ends
        by it (a warm-up longer than the run is a config error, not a run
        that silently never ramps)."""
        if max_iters is not None and self.begin is not None and \
                self.begin >= max_iters and self.begin > 0:
            begin = self.begin
            raise ValueError(
                f'{self.where}: begin={begin} is not before '
                f'train_cfg.max_iters={max_iters}, so the ramp never starts. '
                'Give it as a fraction of the schedule with begin_ratio '
                '(instead of begin; e.g. begin_ratio=0.2 for a warm-up of a '
                'fifth of the run) or lower begin')
        begin, end_iter = self.resolve(max_iters)
        if max_iters is None:
            return begin, end_iter
        if self.end_iter is not None and end_iter > max_iters:
            raise ValueError(
                f'{self.where}: end_iter={end_iter} is after '
                f'train_cfg.max_iters={max_iters}, so the ramp never reaches '
                f'end={self.end}. Use end_ratio (fraction of the schedule), '
                'leave end_iter out (= max_iters) or lower it')
        return begin, end_iter

    def value(self, iteration: int, max_iters: Optional[int] = None) -> float:
        """Value of the schedule at ``iteration`` (0-based)."""
        begin, end_iter = self.resolve(max_iters)
        if iteration < begin:
            return self.start if self.warmup_value is None \
                else self.warmup_value
        if iteration >= end_iter:
            return self.end
        t = (iteration - begin) / (end_iter - begin)
        if self.mode == 'linear':
            f = t
        elif self.mode == 'cosine':
            f = 0.5 * (1.0 - math.cos(math.pi * t))
        elif self.mode == 'sigmoid':
            f = sigmoid_rampup(iteration - begin, end_iter - begin,
                               self.sigmoid_c)
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
                f'ParamRampHook: {type(model).__name__} has no attribute '
                f'{".".join(parts[:i + 1])!r} (ramp attr {path!r})')
        owner = getattr(owner, part)
    if not hasattr(owner, parts[-1]):
        raise AttributeError(
            f'ParamRampHook: {type(model).__name__} has no attribute '
            f'{path!r}; the hook only schedules existing attributes')
    return owner, parts[-1]


@HOOKS.register_module(name=['ParamRampHook', 'ConfidenceRampHook'])
class ParamRampHook(Hook):
    """Set model attributes from schedules of the training iteration.

    Registered as ``'ParamRampHook'`` and, for configs written before the
    rename, ``'ConfidenceRampHook'``.

    Before every training iteration ``k = runner.iter`` each ramp's value is
    computed and assigned with ``setattr`` on the (unwrapped) model (tensor
    attributes such as buffers are filled in place); the values are also
    logged as ``train/<attr>``.

    Args:
        ramps (list[dict]): ramp configs, keys as :class:`Ramp`
            (``attr``, ``start``, ``end``, ``begin`` or ``begin_ratio``,
            ``end_iter`` or ``end_ratio``, ``mode``, ``warmup_value``,
            ``sigmoid_c``). Ratios and ``end_iter=None`` are resolved
            against ``runner.max_iters`` (``train_cfg.max_iters``) in
            ``before_train``, where a ramp that does not fit in the run
            raises an error naming its key.
        check_fit (bool): that error (default). ``False`` lets absolute
            ramps (``begin``/``end_iter``) run past ``train_cfg.max_iters``,
            for a run that is continued later with ``--resume`` and a longer
            schedule (a ramp must still end after it begins).
        log (bool): log the values through the message hub.
        priority (str | int): hook priority.
    """

    priority = 'NORMAL'

    def __init__(self,
                 ramps: Sequence[dict],
                 log: bool = True,
                 priority: Optional[str] = 'NORMAL',
                 check_fit: bool = True):
        self.check_fit = bool(check_fit)
        if isinstance(ramps, dict):
            ramps = [ramps]
        if not ramps:
            raise ValueError('ParamRampHook: `ramps` must be a non-empty '
                             'list of dicts')
        self.ramps: List[Ramp] = []
        for i, cfg in enumerate(ramps):
            if not isinstance(cfg, dict):
                raise TypeError(f'ParamRampHook: ramps[{i}] must be a '
                                f'dict, got {type(cfg).__name__}')
            missing = [k for k in ('attr', 'start', 'end') if k not in cfg]
            if missing:
                raise KeyError(f'ParamRampHook: ramps[{i}] misses keys '
                               f'{missing} (needs attr, start, end)')
            cfg = dict(cfg)
            cfg.setdefault('where', f'ParamRampHook ramps[{i}]')
            try:
                self.ramps.append(Ramp(**cfg))
            except TypeError as e:
                raise TypeError(f'ParamRampHook: ramps[{i}] = {cfg}: '
                                f'{e}') from e
        attrs = [r.attr for r in self.ramps]
        if len(set(attrs)) != len(attrs):
            raise ValueError(f'ParamRampHook: duplicated attrs {attrs}')
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
        """Resolve every ramp against the run's ``train_cfg.max_iters``
        (ratios, ``end_iter=None``) and check it fits, check every attribute
        path and set the values of the first iteration (also after
        resume)."""
        max_iters = self._max_iters(runner)
        spans = []
        for ramp in self.ramps:
            begin, end_iter = ramp.check_fits(max_iters) \
                if self.check_fit else ramp.resolve(max_iters)
            spans.append(f'{ramp.attr}: {ramp.start:g} -> {ramp.end:g} over '
                         f'iterations [{begin}, {end_iter})')
        logger = getattr(runner, 'logger', None)
        if logger is not None:
            logger.info(f'ParamRampHook (max_iters={max_iters}): ' +
                        '; '.join(spans))
        self._apply(runner, runner.iter)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._apply(runner, runner.iter)
