"""Distribution alignment of teacher probabilities (thesis §2.5.6, §5.2).

ReMixMatch-style alignment (Berthelot et al.) as used in the ClassMix/DACS
thesis' "Distribution Aligned IntraMix" ablation (Table 5.2): keep a running
estimate ``p~(y)`` of the class distribution the model currently predicts
(an exponential moving average, alpha = 0.99, of the pseudo-label class
frequencies, thesis §5.2), rescale every teacher probability vector by the
ratio ``p(y) / p~(y)`` to a desired class distribution ``p(y)`` (the thesis
computes it from target-domain labels; in practice an estimate) and
renormalise so the result is again a distribution.

The running estimate lives in buffers, so it is saved in checkpoints and
restored on resume.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmda.registry import MODELS


@MODELS.register_module()
class DistributionAlignment(nn.Module):
    """Align predicted class distributions to a desired one.

    Args:
        num_classes (int): number of classes C.
        target_dist (Sequence[float] | Tensor, optional): desired class
            distribution ``p(y)`` (normalised internally). ``None`` means
            uniform (Bridle et al.'s "fair" objective); set the real one
            with :meth:`set_target_dist` or from label maps with
            :meth:`class_distribution`.
        momentum (float): EMA coefficient of the running estimate
            (thesis §5.2: 0.99).
        stat (str): what the running estimate averages: ``'hard'`` =
            pseudo-label class frequencies (thesis), ``'soft'`` = mean
            probabilities (ReMixMatch).
        eps (float): added to both distributions before the ratio.
    """

    def __init__(self,
                 num_classes: int = 19,
                 target_dist: Optional[Union[Sequence[float], Tensor]] = None,
                 momentum: float = 0.99,
                 stat: str = 'hard',
                 eps: float = 1e-6):
        super().__init__()
        if num_classes < 1:
            raise ValueError('DistributionAlignment: num_classes must be '
                             f'>= 1, got {num_classes}')
        if not 0.0 <= momentum < 1.0:
            raise ValueError('DistributionAlignment: momentum must be in '
                             f'[0, 1), got {momentum}')
        if stat not in ('hard', 'soft'):
            raise ValueError("DistributionAlignment: stat must be 'hard' or "
                             f"'soft', got {stat!r}")
        self.num_classes = int(num_classes)
        self.momentum = float(momentum)
        self.stat = stat
        self.eps = float(eps)
        uniform = torch.full((num_classes, ), 1.0 / num_classes)
        self.register_buffer('target_dist', uniform.clone())
        self.register_buffer('running_dist', uniform.clone())
        self.register_buffer('initialized', torch.zeros((), dtype=torch.bool))
        if target_dist is not None:
            self.set_target_dist(target_dist)

    def set_target_dist(self, dist: Union[Sequence[float], Tensor]) -> None:
        """Set the desired distribution ``p(y)`` (normalised to sum 1)."""
        dist = torch.as_tensor(dist, dtype=torch.float32).flatten()
        if dist.numel() != self.num_classes:
            raise ValueError(f'DistributionAlignment: target_dist has '
                             f'{dist.numel()} entries, expected num_classes='
                             f'{self.num_classes}')
        if bool((dist < 0).any()) or float(dist.sum()) <= 0:
            raise ValueError('DistributionAlignment: target_dist must be '
                             'non-negative with a positive sum, got '
                             f'{dist.tolist()}')
        self.target_dist.copy_(dist / dist.sum())

    @staticmethod
    def class_distribution(labels: Tensor,
                           num_classes: int,
                           ignore_index: int = 255) -> Tensor:
        """Class frequencies (C,) of label maps, ``ignore_index`` excluded."""
        labels = labels.flatten()
        labels = labels[(labels != ignore_index) & (labels >= 0)
                        & (labels < num_classes)]
        counts = torch.bincount(labels.long(), minlength=num_classes).float()
        total = counts.sum()
        if total == 0:
            raise ValueError('class_distribution: the labels contain no valid '
                             'pixel')
        return counts / total

    def batch_dist(self, probs: Tensor) -> Tensor:
        """Class distribution (C,) predicted on a (B, C, H, W) batch."""
        if self.stat == 'hard':
            pred = probs.argmax(dim=1).flatten()
            counts = torch.bincount(pred, minlength=self.num_classes)
            return counts.to(probs.dtype) / pred.numel()
        return probs.mean(dim=(0, 2, 3))

    @torch.no_grad()
    def update(self, probs: Tensor) -> None:
        """Update the running estimate with a batch (averaged over
        processes when distributed)."""
        from mmengine.dist import all_reduce
        d = self.batch_dist(probs.detach()).float()
        all_reduce(d, op='mean')
        d = d.to(self.running_dist)
        if bool(self.initialized):
            self.running_dist.mul_(self.momentum).add_(
                d, alpha=1.0 - self.momentum)
        else:  # first batch: start from it rather than from uniform
            self.running_dist.copy_(d)
            self.initialized.fill_(True)

    def align(self, probs: Tensor) -> Tensor:
        """Rescale by ``p(y) / p~(y)`` and renormalise over classes."""
        ratio = (self.target_dist + self.eps) / (self.running_dist + self.eps)
        q = probs * ratio.to(probs).view(1, -1, 1, 1)
        return q / q.sum(dim=1, keepdim=True).clamp_min(1e-12)

    def forward(self, probs: Tensor, update: bool = True) -> Tensor:
        """Update the running estimate with ``probs`` (if ``update``) and
        return the aligned probabilities.

        Args:
            probs (Tensor): (B, C, H, W) teacher softmax.
            update (bool): whether to update the running estimate first.
        """
        if probs.dim() != 4 or probs.shape[1] != self.num_classes:
            raise ValueError('DistributionAlignment expects (B, '
                             f'{self.num_classes}, H, W) probabilities, got '
                             f'{tuple(probs.shape)}')
        if update:
            self.update(probs)
        return self.align(probs)
