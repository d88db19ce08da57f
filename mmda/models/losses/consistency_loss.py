"""Confidence-masked consistency loss of the mean-teacher domain extension.

Scherer et al. 2021, §3.3, eq. 14-15 (docs/methods.md
#mean-teacher-domain-extension)::

    w_ij(f_T(x)) = 1 if max_c softmax(f_T(x))_ijc >= rho else 0      (14)
    L = || w(f_T(x)) * (softmax(f_T(x')) - softmax(f_S(x''))) ||_2^2  (15)

The mask comes from the teacher, the teacher softmax is a constant (no
gradient into the teacher, "this loss is only propagated into the student
network"), and the squared error is summed over the classes. The paper adds
"Since the total SSL loss is generally quite small during training, we set
lambda_ssl to 50": the squared norm is therefore taken as a *mean* (over all
B*C*H*W elements by default, as TensorFlow's ``mean_squared_error`` and the
ClassMix code's ``MSELoss2d``), masked-out pixels counting as zeros.
"""
from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmda.registry import MODELS
from .cross_entropy import pixel_weight_map, reduce_loss

REDUCTIONS = ('mean', 'masked_mean', 'sum', 'none')


def confidence_mask(probs: Tensor, threshold: float) -> Tensor:
    """Eq. 14: 1 where the maximum class probability is >= ``threshold``.

    Args:
        probs (Tensor): (B, C, H, W) probabilities.
        threshold (float): confidence threshold rho.

    Returns:
        Tensor: (B, H, W) float mask of 0/1.
    """
    if probs.dim() != 4:
        raise ValueError('confidence_mask: probs must be (B, C, H, W), got '
                         f'{tuple(probs.shape)}')
    return (probs.max(dim=1).values >= threshold).to(probs.dtype)


def masked_consistency_loss(student_probs: Tensor,
                            teacher_probs: Tensor,
                            threshold: float = 0.5,
                            mask_probs: Optional[Tensor] = None,
                            reduction: str = 'mean'
                            ) -> Tuple[Tensor, Tensor]:
    """Squared error between teacher and student softmax maps, masked per
    pixel by the teacher's confidence (Scherer et al. eq. 14-15).

    Args:
        student_probs (Tensor): (B, C, H, W) student softmax (with grad).
        teacher_probs (Tensor): (B, C, H, W) teacher softmax; detached here.
        threshold (float): confidence threshold rho of eq. 14.
        mask_probs (Tensor, optional): (B, C, H, W) probabilities the mask is
            computed from (eq. 15 writes ``w(f_T(x_t))`` for the pair
            ``f_T(A_w(x_t))``); defaults to ``teacher_probs``.
        reduction (str): ``'mean'`` over all B*C*H*W elements (default),
            ``'masked_mean'`` (sum over classes, mean over the confident
            pixels; 0 when none is confident), ``'sum'`` or ``'none'`` (the
            (B, H, W) map of squared errors summed over the classes).

    Returns:
        tuple[Tensor, Tensor]: the loss and the (B, H, W) mask used.
    """
    if student_probs.dim() != 4 or student_probs.shape != teacher_probs.shape:
        raise ValueError(
            'masked_consistency_loss: student_probs and teacher_probs must '
            'both be (B, C, H, W) of the same shape, got '
            f'{tuple(student_probs.shape)} and {tuple(teacher_probs.shape)}')
    if reduction not in REDUCTIONS:
        raise ValueError(f'masked_consistency_loss: reduction must be one of '
                         f'{REDUCTIONS}, got {reduction!r}')
    teacher_probs = teacher_probs.detach().to(student_probs.dtype)
    if mask_probs is None:
        mask_probs = teacher_probs
    elif mask_probs.shape != teacher_probs.shape:
        raise ValueError('masked_consistency_loss: mask_probs must have the '
                         f'shape {tuple(teacher_probs.shape)}, got '
                         f'{tuple(mask_probs.shape)}')
    mask = confidence_mask(mask_probs.detach().to(student_probs.dtype),
                           threshold)
    sq = ((teacher_probs - student_probs)**2) * mask[:, None]
    if reduction == 'mean':
        loss = sq.mean()
    elif reduction == 'masked_mean':
        loss = sq.sum(dim=1).sum() / mask.sum().clamp(min=1.0)
    elif reduction == 'sum':
        loss = sq.sum()
    else:
        loss = sq.sum(dim=1)
    return loss, mask


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
    sq = sq * pixel_weight_map(weight, logits)[:, None]
    if reduction == 'mean':
        return sq.mean()
    return reduce_loss(sq.sum(dim=1), reduction)


@MODELS.register_module()
class MaskedConsistencyLoss(nn.Module):
    """Module form of :func:`masked_consistency_loss`.

    ``loss(student_probs, teacher_probs, threshold=None, mask_probs=None)``;
    ``threshold`` defaults to the attribute :attr:`threshold` (which
    ``ParamRampHook`` may schedule).

    Args:
        threshold (float): confidence threshold rho (Scherer et al. §4.2:
            0.5 at the start, raised linearly to 0.9 by a ramp).
        reduction (str): see :func:`masked_consistency_loss`.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self,
                 threshold: float = 0.5,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'MaskedConsistencyLoss: reduction must be one '
                             f'of {REDUCTIONS}, got {reduction!r}')
        self.threshold = float(threshold)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def forward(self,
                student_probs: Tensor,
                teacher_probs: Tensor,
                threshold: Optional[float] = None,
                mask_probs: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        thr = self.threshold if threshold is None else float(threshold)
        loss, mask = masked_consistency_loss(
            student_probs, teacher_probs, thr, mask_probs, self.reduction)
        return self.loss_weight * loss, mask

    def extra_repr(self) -> str:
        return (f'threshold={self.threshold}, reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')
