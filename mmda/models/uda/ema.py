"""Exponential moving average (mean teacher) update.

``theta_t <- alpha_i * theta_t + (1 - alpha_i) * theta_s`` with the warm start
``alpha_i = min(1 - 1 / (i + 1), alpha)`` of the DACS code
(``update_ema_variables``; docs/methods.md#student-and-teacher), ``i`` being the
number of teacher updates done so far. ``alpha_0 = 0`` makes the teacher a
copy of the student at the first update; while ``1 - 1/(i+1) < alpha`` the
teacher is the plain average of all student versions seen.

The arithmetic runs through multi-tensor ``torch._foreach_*`` kernels (no
Python loop doing arithmetic per parameter). The name pairing of teacher and
student tensors is built once per (teacher, student) and reused while the
module structure is unchanged (see :func:`_pairing`): building it walks
every named parameter and buffer of both models, which cost two thirds of an
update of the toy model.
"""
import weakref
from typing import List, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..utils import unwrap


def ema_alpha(alpha: float, step: int) -> float:
    """The DACS warm-start coefficient ``min(1 - 1 / (step + 1), alpha)``."""
    if step < 0:
        raise ValueError(f'ema step must be >= 0, got {step}')
    return min(1.0 - 1.0 / (step + 1), alpha)


def _paired(teacher: nn.Module, student: nn.Module, average_buffers: bool
            ) -> Tuple[List[Tensor], List[Tensor], List[Tensor], List[Tensor]]:
    """Pair teacher/student tensors by name.

    Returns:
        tuple: (teacher tensors to average, matching student tensors,
        teacher tensors to copy, matching student tensors).
    """
    t_params = dict(teacher.named_parameters())
    s_params = dict(student.named_parameters())
    t_bufs = dict(teacher.named_buffers())
    s_bufs = dict(student.named_buffers())
    for kind, t_named, s_named in (('parameters', t_params, s_params),
                                   ('buffers', t_bufs, s_bufs)):
        if t_named.keys() != s_named.keys():
            only_t = sorted(set(t_named) - set(s_named))[:5]
            only_s = sorted(set(s_named) - set(t_named))[:5]
            raise ValueError(f'ema_update: teacher and student have different '
                             f'{kind} (only in teacher: {only_t}, only in '
                             f'student: {only_s})')
    avg_t, avg_s, copy_t, copy_s = [], [], [], []
    for is_buffer, t_named, s_named in ((False, t_params, s_params),
                                        (True, t_bufs, s_bufs)):
        for name, t in t_named.items():
            s = s_named[name]
            if t.shape != s.shape:
                raise ValueError(f'ema_update: shape mismatch for {name!r}: '
                                 f'teacher {tuple(t.shape)} vs student '
                                 f'{tuple(s.shape)}')
            if t.is_floating_point() and (average_buffers or not is_buffer):
                avg_t.append(t)
                avg_s.append(s)  # converted to t's dtype by _pairing
            else:
                copy_t.append(t)
                copy_s.append(s)
    return avg_t, avg_s, copy_t, copy_s


def _structure(module: nn.Module) -> List[dict]:
    """The parameter, buffer and child dictionaries of every submodule."""
    return [d for m in module.modules()
            for d in (m._parameters, m._buffers, m._modules)]


def _fingerprint(dicts: List[dict]) -> List[int]:
    """Identities of every parameter, buffer and child in ``dicts``.

    Any structural change - a parameter, buffer or submodule added, removed
    or replaced (``setattr``, ``register_*``, ``del``, writes to
    ``_parameters`` / ``_buffers``, ``module.to(...)`` replacing buffers) -
    changes this list. In-place changes of values (optimizer steps,
    ``load_state_dict``, BatchNorm statistics) do not, and need no rebuild.
    """
    return [id(x) for d in dicts for x in d.values()]


class _Pairing:
    """Cached result of :func:`_paired` with what it was built from.

    Every object whose identity enters the fingerprint is held alive (the
    tensors, the submodules), so that no replacement can reuse a freed
    object's ``id``. The teacher's root module is not held (only its
    dictionaries and children): it is the key of :data:`_PAIRINGS`, and its
    entry must not keep it alive.
    """

    __slots__ = ('student', 'average_buffers', 'modules', 'dicts',
                 'fingerprint', 'tensors')

    def __init__(self, teacher, student, average_buffers):
        self.student = weakref.ref(student)
        self.average_buffers = average_buffers
        self.modules = [m for m in teacher.modules() if m is not teacher
                        ] + list(student.modules())
        self.dicts = _structure(teacher) + _structure(student)
        self.fingerprint = _fingerprint(self.dicts)
        self.tensors = _paired(teacher, student, average_buffers)

    def valid_for(self, student, average_buffers) -> bool:
        return (self.student() is student
                and self.average_buffers == average_buffers
                and _fingerprint(self.dicts) == self.fingerprint)


#: teacher -> its latest :class:`_Pairing` (weak: dies with the teacher)
_PAIRINGS: 'weakref.WeakKeyDictionary[nn.Module, _Pairing]' = \
    weakref.WeakKeyDictionary()


def _pairing(teacher: nn.Module, student: nn.Module,
             average_buffers: bool) -> Tuple[List[Tensor], ...]:
    """:func:`_paired`, rebuilt only after a structural change.

    The check costs one pass over the modules' parameter/buffer/child
    dictionaries (:func:`_fingerprint`, no module traversal, no names)
    instead of the named traversal and name matching of both models.
    """
    entry = _PAIRINGS.get(teacher)
    if entry is None or not entry.valid_for(student, average_buffers):
        entry = _Pairing(teacher, student, average_buffers)
        _PAIRINGS[teacher] = entry
    avg_t, avg_s, copy_t, copy_s = entry.tensors
    # dtypes are read at every update: ``module.to(dtype)`` changes a
    # parameter's dtype in place (same object, same fingerprint)
    if not all(t.dtype == s.dtype for t, s in zip(avg_t, avg_s)):
        avg_s = [s if s.dtype == t.dtype else s.to(t.dtype)
                 for t, s in zip(avg_t, avg_s)]
    return avg_t, avg_s, copy_t, copy_s


@torch.no_grad()
def ema_update(teacher: nn.Module,
               student: nn.Module,
               alpha: float,
               step: int,
               average_buffers: bool = True,
               warmup: bool = True) -> float:
    """Update ``teacher`` in place towards ``student``.

    Args:
        teacher (nn.Module): the EMA model (same architecture as
            ``student``); model wrappers are unwrapped.
        student (nn.Module): the trained model; model wrappers are unwrapped.
        alpha (float): EMA coefficient (DACS: 0.99; Scherer et al.: 0.999).
        step (int): number of teacher updates done before this one (0 for
            the first update).
        average_buffers (bool): average floating-point buffers (BatchNorm
            running statistics) like the parameters; if ``False`` they are
            copied from the student. Integer buffers (e.g.
            ``num_batches_tracked``) are always copied.
        warmup (bool): use the warm-start coefficient :func:`ema_alpha`;
            ``False`` uses ``alpha`` from the first update (the generator
            EMA of CycleGAN without ``ema_warmup``).

    Returns:
        float: the coefficient ``alpha_i`` that was used.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'ema_update: alpha must be in [0, 1], got {alpha}')
    teacher, student = unwrap(teacher), unwrap(student)
    a = ema_alpha(alpha, int(step)) if warmup else float(alpha)
    tf, sf, ti, si = _pairing(teacher, student, average_buffers)
    if tf:
        # t + (1 - a) * (s - t) = a * t + (1 - a) * s
        torch._foreach_lerp_(tf, sf, 1.0 - a)
    if ti:
        torch._foreach_copy_(ti, si)
    return a
