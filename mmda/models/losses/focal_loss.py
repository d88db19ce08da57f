"""Multi-class (softmax) focal loss for semantic segmentation.

mmseg 1.2.2 ships a ``FocalLoss`` too, but it is the *sigmoid* focal loss of
RetinaNet (one binary problem per class, ``alpha`` balancing, mmcv's CUDA op):
a different objective. Scale-invariant examples (Subhani & Ali, ECCV 2020;
docs/methods.md#scale-invariant-examples) use the softmax form on the pixel
cross-entropy, as in the authors' code::

    ce_i  = -log softmax(x_i)[y_i]
    p_t   = exp(-ce_i)
    fl_i  = ce_i * (1 - p_t) ** gamma

averaged over the non-ignored pixels (their ``CrossEntropy2d`` drops the
ignored pixels before the mean). Hence the distinct name
:class:`SoftmaxFocalLoss`.
"""
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmda.registry import MODELS


def softmax_focal_loss(pred: torch.Tensor,
                       label: torch.Tensor,
                       weight: Optional[torch.Tensor] = None,
                       gamma: float = 3.0,
                       class_weight: Optional[torch.Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None,
                       ignore_index: int = 255,
                       avg_non_ignore: bool = True) -> torch.Tensor:
    """Softmax focal loss ``ce * (1 - exp(-ce)) ** gamma`` per pixel.

    Args:
        pred (Tensor): logits, (N, C, H, W) or (N, C).
        label (Tensor): class indices, (N, H, W) or (N,); ``ignore_index``
            marks ignored pixels.
        weight (Tensor, optional): element-wise weight, same shape as
            ``label``.
        gamma (float): focusing parameter. Defaults to 3.0 (the paper's
            value, docs/methods.md#scale-invariant-examples).
        class_weight (Tensor, optional): per-class weight of the
            cross-entropy (as in ``F.cross_entropy``). ``p_t`` is taken from
            the unweighted cross-entropy.
        reduction (str): 'none', 'mean' or 'sum'.
        avg_factor (float, optional): divisor of the 'mean' reduction.
        ignore_index (int): label value to ignore. Defaults to 255.
        avg_non_ignore (bool): average over non-ignored elements only (the
            authors' choice) instead of over all elements (mmseg's
            ``CrossEntropyLoss`` default). Defaults to True.

    Returns:
        Tensor: the loss (scalar unless ``reduction='none'``).
    """
    if reduction not in ('none', 'mean', 'sum'):
        raise ValueError(
            f'reduction must be none, mean or sum, got {reduction!r}')
    ce = F.cross_entropy(
        pred, label, reduction='none', ignore_index=ignore_index)
    if class_weight is not None:
        weighted_ce = F.cross_entropy(
            pred, label, weight=class_weight, reduction='none',
            ignore_index=ignore_index)
    else:
        weighted_ce = ce
    # p_t of the true class; ce == 0 at ignored pixels, so their loss is 0.
    pt = torch.exp(-ce)
    loss = weighted_ce * (1.0 - pt).pow(gamma)
    if weight is not None:
        loss = loss * weight.float()
    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if avg_factor is None:
        if avg_non_ignore:
            avg_factor = (label != ignore_index).sum().item()
        else:
            avg_factor = label.numel()
    # Same zero-division guard as mmseg's weight_reduce_loss.
    return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)


@MODELS.register_module()
class SoftmaxFocalLoss(nn.Module):
    """Softmax focal loss for dense classification.

    Drop-in member of a decode head's ``loss_decode`` list, e.g. the SIE
    objective ``CE + 0.1 * focal(gamma=3)``::

        loss_decode=[
            dict(type='CrossEntropyLoss', loss_weight=1.0,
                 avg_non_ignore=True),
            dict(type='SoftmaxFocalLoss', gamma=3.0, loss_weight=0.1),
        ]

    Args:
        gamma (float): focusing parameter (paper: 3). Defaults to 3.0.
        loss_weight (float): multiplier of the loss (paper: beta = 0.1).
            Defaults to 1.0.
        class_weight (list[float], optional): per-class weights of the
            cross-entropy term. Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        avg_non_ignore (bool): average over non-ignored pixels only.
            Defaults to True (the authors' code).
        loss_name (str): key of the loss in the loss dict; must start with
            ``loss_`` to be back-propagated. Defaults to 'loss_focal'.
    """

    def __init__(self,
                 gamma: float = 3.0,
                 loss_weight: float = 1.0,
                 class_weight: Optional[List[float]] = None,
                 reduction: str = 'mean',
                 avg_non_ignore: bool = True,
                 loss_name: str = 'loss_focal') -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(
                f'SoftmaxFocalLoss: gamma must be >= 0, got {gamma}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError('SoftmaxFocalLoss: reduction must be none, mean '
                             f'or sum, got {reduction!r}')
        if not loss_name.startswith('loss_'):
            raise ValueError('SoftmaxFocalLoss: loss_name must start with '
                             f'"loss_" to be optimised, got {loss_name!r}')
        self.gamma = float(gamma)
        self.loss_weight = float(loss_weight)
        self.class_weight = class_weight
        self.reduction = reduction
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: Union[int, None] = 255,
                **kwargs) -> torch.Tensor:
        """Compute the loss (decode-head call signature)."""
        reduction = reduction_override or self.reduction
        class_weight = None
        if self.class_weight is not None:
            class_weight = cls_score.new_tensor(self.class_weight)
        if ignore_index is None:
            ignore_index = -100
        return self.loss_weight * softmax_focal_loss(
            cls_score, label.long(), weight=weight, gamma=self.gamma,
            class_weight=class_weight, reduction=reduction,
            avg_factor=avg_factor, ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore)

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def extra_repr(self) -> str:
        return (f'gamma={self.gamma}, loss_weight={self.loss_weight}, '
                f'avg_non_ignore={self.avg_non_ignore}')
