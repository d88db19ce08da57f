"""Pseudo-labels and their loss weights.

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
from typing import Optional, Tuple

import torch
from torch import Tensor


PSEUDO_WEIGHT_MODES = ('threshold_uniform', 'threshold', 'sigmoid', 'none')
TEACHER_BN_MODES = ('batch', 'running')


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
