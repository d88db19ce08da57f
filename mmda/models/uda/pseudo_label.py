"""Pseudo-labels, their loss weights and soft-target losses.

The teacher's softmax on the (weakly augmented) target image gives, per
pixel, a hard pseudo-label ``argmax_c p_c`` (thesis eq. 2.11) and a loss
weight. The weighting modes are those of the ClassMix/DACS thesis §2.5.4 and
its ablation (Table 5.1):

* ``'threshold_uniform'`` (DACS default, eq. 2.15): the fraction of pixels
  whose confidence ``max_c p_c`` is at least ``threshold`` (0.968), one
  scalar for the whole **batch** (``reduce='batch'``, default: thesis
  §5.2.1 "rather than on whole batches, like we are doing now"; the DACS
  code's ``unlabeled_weight`` in ``trainUDA.py`` and DAFormer's
  ``pseudo_weight`` in ``mmseg/models/uda/dacs.py`` agree) -- or one
  scalar per image with ``reduce='image'`` (the ablation the thesis
  suggests) -- broadcast to all pixels;
* ``'threshold'`` (eq. 2.14): per pixel 1 if the confidence passes the
  threshold, else 0;
* ``'sigmoid'`` (eq. 2.13): the iteration-dependent ramp-up
  ``exp(-c (1 - k / k_max)^2)`` (1 after ``k_max``), see
  :func:`sigmoid_rampup`;
* ``'none'``: weight 1.

All weights are multiplied by ``scale`` (the thesis' ``lambda_u0``, 1).
"""
import math
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .dist_align import DistributionAlignment  # noqa: F401 (re-export)

PSEUDO_WEIGHT_MODES = ('threshold_uniform', 'threshold', 'sigmoid', 'none')
TEACHER_BN_MODES = ('batch', 'running')


@contextmanager
def bn_batch_statistics(module: nn.Module) -> Iterator[nn.Module]:
    """Let every BatchNorm layer of ``module`` normalise with the statistics
    of the current batch, without touching its buffers.

    This is how the DACS and DAFormer teachers make pseudo-labels: their EMA
    model runs in *train* mode (DACS ``trainUDA.py``: ``ema_model.train()``;
    DAFormer ``mmseg/models/uda/dacs.py`` only switches dropout off), so its
    BatchNorm layers use the target batch's mean and (biased) variance. Here
    only the BatchNorm layers change behaviour (dropout and every other layer
    keep their mode), and ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` stay exactly as they were: inside the context a
    layer has ``training=True, track_running_stats=False``, for which
    PyTorch passes no running buffers to ``F.batch_norm``. The previous
    flags are restored on exit, also after an exception.

    Covers every subclass of ``torch.nn.modules.batchnorm._BatchNorm``
    (``BatchNorm1d/2d/3d``, ``SyncBatchNorm``).
    """
    saved = []
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            saved.append((m, m.training, m.track_running_stats))
            m.training = True
            m.track_running_stats = False
    try:
        yield module
    finally:
        for m, training, track in saved:
            m.training = training
            m.track_running_stats = track


def sigmoid_rampup(iteration: float, ramp_iters: float,
                   c: float = 5.0) -> float:
    """Sigmoid ramp-up of the thesis' eq. 2.13 (with ``lambda_u0 = 1``).

    The thesis prints ``exp(-c (k_max - k)^2)``; its Fig. 2.9 (a ramp over
    10k iterations with ``c = 5``), its references [4, 5] (Laine & Aila,
    Tarvainen & Valpola) and the authors' code (``sigmoid_ramp_up`` in
    ClassMix/trainSSL.py) all use the iteration normalised by ``k_max``::

        w(k) = exp(-c * (1 - k / k_max)^2)  for k < k_max,  1 afterwards.

    The literal printed form is the special case ``c' = c * k_max^2``.

    Args:
        iteration (float): current iteration ``k`` (>= 0).
        ramp_iters (float): ``k_max``, iteration at which the ramp reaches
            1 (thesis: 10000). ``0`` gives 1 at once.
        c (float): slope (thesis: 5).

    Returns:
        float: the ramp value in (0, 1].
    """
    if ramp_iters < 0:
        raise ValueError(f'ramp_iters must be >= 0, got {ramp_iters}')
    if iteration < 0:
        raise ValueError(f'iteration must be >= 0, got {iteration}')
    if ramp_iters == 0 or iteration >= ramp_iters:
        return 1.0
    phase = 1.0 - float(iteration) / float(ramp_iters)
    return math.exp(-c * phase * phase)


def pseudo_label_weight(probs: Tensor,
                        mode: str = 'threshold_uniform',
                        threshold: float = 0.968,
                        iteration: Optional[int] = None,
                        ramp_iters: int = 10000,
                        ramp_c: float = 5.0,
                        scale: float = 1.0,
                        reduce: str = 'batch') -> Tuple[Tensor, Tensor]:
    """Hard pseudo-labels and per-pixel loss weights from softmax maps.

    Args:
        probs (Tensor): (B, C, H, W) class probabilities (softmax of the
            teacher's logits).
        mode (str): one of ``'threshold_uniform'``, ``'threshold'``,
            ``'sigmoid'``, ``'none'`` (see the module docstring).
        threshold (float): confidence threshold tau (thesis/DACS: 0.968).
            A pixel passes if ``max_c p_c >= tau`` (as the DACS code's
            ``ge``).
        iteration (int, optional): current iteration; required by
            ``'sigmoid'``.
        ramp_iters (int): ``k_max`` of the sigmoid ramp (thesis: 10000).
        ramp_c (float): slope ``c`` of the sigmoid ramp (thesis: 5).
        scale (float): ``lambda_u0`` multiplying every weight (thesis: 1).
        reduce (str): for ``'threshold_uniform'``: ``'batch'`` (default:
            one weight for the whole batch, thesis §5.2.1 and the DACS /
            DAFormer code) or ``'image'`` (one weight per image, an
            ablation).

    Returns:
        tuple[Tensor, Tensor]: pseudo-label (B, H, W) long and weight
        (B, H, W) float.
    """
    if not isinstance(probs, Tensor) or probs.dim() != 4:
        raise ValueError('pseudo_label_weight: probs must be a (B, C, H, W) '
                         f'tensor, got {getattr(probs, "shape", type(probs))}')
    if mode not in PSEUDO_WEIGHT_MODES:
        raise ValueError(f'pseudo_label_weight: unknown mode {mode!r}, '
                         f'expected one of {PSEUDO_WEIGHT_MODES}')
    probs = probs.detach()
    max_probs, pseudo_label = probs.max(dim=1)
    dtype = probs.dtype if probs.is_floating_point() else torch.float32
    if mode == 'threshold_uniform':
        passed = (max_probs >= threshold).to(dtype)
        if reduce == 'image':
            frac = passed.flatten(1).mean(dim=1)[:, None, None]
            weight = frac.expand_as(passed).clone()
        elif reduce == 'batch':
            weight = passed.mean().expand_as(passed).clone()
        else:
            raise ValueError("pseudo_label_weight: reduce must be 'image' or "
                             f"'batch', got {reduce!r}")
    elif mode == 'threshold':
        weight = (max_probs >= threshold).to(dtype)
    elif mode == 'sigmoid':
        if iteration is None:
            raise ValueError("pseudo_label_weight: mode='sigmoid' (thesis eq. "
                             '2.13) needs the current `iteration`')
        weight = torch.full_like(
            max_probs, sigmoid_rampup(iteration, ramp_iters, ramp_c),
            dtype=dtype)
    else:  # 'none'
        weight = torch.ones_like(max_probs, dtype=dtype)
    if scale != 1.0:
        weight = weight * scale
    return pseudo_label, weight


def _pixel_weight(weight: Optional[Tensor], like: Tensor) -> Tensor:
    """Return a (B, H, W) weight for a (B, C, H, W) ``like``."""
    if weight is None:
        return like.new_ones((like.shape[0], ) + tuple(like.shape[2:]))
    if weight.dim() == 4 and weight.shape[1] == 1:
        weight = weight[:, 0]
    if weight.shape != (like.shape[0], ) + tuple(like.shape[2:]):
        raise ValueError(f'weight must be (B, H, W) = '
                         f'{(like.shape[0], ) + tuple(like.shape[2:])}, got '
                         f'{tuple(weight.shape)}')
    return weight.to(like.dtype)


def soft_cross_entropy(logits: Tensor,
                       targets: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean') -> Tensor:
    """Cross entropy against soft targets (thesis §2.5, ``d`` = CE, with the
    teacher's softmax as target instead of a pseudo-label; Table 5.1 "no
    pseudo-labels").

    ``loss_pixel = -sum_c q_c log softmax(logits)_c``, multiplied by the
    per-pixel ``weight``.

    Args:
        logits (Tensor): (B, C, H, W) student logits.
        targets (Tensor): (B, C, H, W) target probabilities (e.g. a mixed
            teacher softmax); treated as constants.
        weight (Tensor, optional): (B, H, W) or (B, 1, H, W) pixel weights.
        reduction (str): ``'mean'`` (over pixels), ``'sum'`` or ``'none'``
            (returns the (B, H, W) map).
    """
    if logits.shape != targets.shape or logits.dim() != 4:
        raise ValueError('soft_cross_entropy: logits and targets must both '
                         f'be (B, C, H, W), got {tuple(logits.shape)} and '
                         f'{tuple(targets.shape)}')
    loss = -(targets.detach() * F.log_softmax(logits, dim=1)).sum(dim=1)
    loss = loss * _pixel_weight(weight, logits)
    return _reduce(loss, reduction)


def mse_consistency(logits: Tensor,
                    targets: Tensor,
                    weight: Optional[Tensor] = None,
                    reduction: str = 'mean') -> Tensor:
    """Squared error between the student's softmax and soft targets
    (thesis Table 5.1 "squared error" / ClassMix code ``MSELoss2d``: the
    mean over all B*C*H*W elements).

    Args:
        logits (Tensor): (B, C, H, W) student logits.
        targets (Tensor): (B, C, H, W) target probabilities (constants).
        weight (Tensor, optional): (B, H, W) or (B, 1, H, W) pixel weights.
        reduction (str): ``'mean'`` over all elements, ``'sum'`` or
            ``'none'`` (the (B, H, W) map summed over classes).
    """
    if logits.shape != targets.shape or logits.dim() != 4:
        raise ValueError('mse_consistency: logits and targets must both be '
                         f'(B, C, H, W), got {tuple(logits.shape)} and '
                         f'{tuple(targets.shape)}')
    sq = (F.softmax(logits, dim=1) - targets.detach())**2
    sq = sq * _pixel_weight(weight, logits)[:, None]
    if reduction == 'mean':
        return sq.mean()
    return _reduce(sq.sum(dim=1), reduction)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'none':
        return loss
    raise ValueError("reduction must be 'mean', 'sum' or 'none', got "
                     f'{reduction!r}')
