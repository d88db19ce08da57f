"""Cross-entropy losses of the self-training methods: against hard
pseudo-labels with per-pixel weights (DACS) and against soft targets (the
"no pseudo-labels" ablation of the ClassMix/DACS thesis, Table 5.1)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor


def pixel_weighted_cross_entropy(logits: Tensor,
                                 label: Tensor,
                                 weight: Tensor,
                                 ignore_index: int = 255) -> Tensor:
    """Mean over all pixels of ``weight * CE`` (DACS code,
    ``CrossEntropyLoss2dPixelWiseWeighted``).

    Ignored pixels contribute 0 but are counted in the mean, as in the DACS
    code (``torch.mean(CE(reduction='none') * pixelWiseWeight)``).

    Args:
        logits (Tensor): (B, C, H, W) logits.
        label (Tensor): (B, H, W) or (B, 1, H, W) class indices.
        weight (Tensor): per-pixel weights of the label's shape.
        ignore_index (int): label value without loss. Defaults to 255.
    """
    if label.dim() == 4:
        label = label[:, 0]
    if weight.dim() == 4:
        weight = weight[:, 0]
    expected = (logits.shape[0], ) + tuple(logits.shape[2:])
    if tuple(label.shape) != expected or tuple(weight.shape) != expected:
        raise ValueError(
            'pixel_weighted_cross_entropy: label and weight must be '
            f'{expected} for logits {tuple(logits.shape)}, got '
            f'{tuple(label.shape)} and {tuple(weight.shape)}')
    ce = F.cross_entropy(
        logits, label.long(), ignore_index=ignore_index, reduction='none')
    return (ce * weight.to(ce.dtype)).mean()


def pixel_weight_map(weight: Optional[Tensor], like: Tensor) -> Tensor:
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
    loss = loss * pixel_weight_map(weight, logits)
    return reduce_loss(loss, reduction)


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'none':
        return loss
    raise ValueError("reduction must be 'mean', 'sum' or 'none', got "
                     f'{reduction!r}')
