# Copyright (c) mmda contributors. All rights reserved.
"""Semantic-level discriminators of ASS (Wang et al. 2020, §3.3, §4.1).

Both discriminators ``D_s`` classify features into ``2c`` classes: channel
``k`` is "class ``k`` of the source domain", channel ``k + c`` "class ``k`` of
the target domain" (softmax over the ``2c`` channels).

* :class:`FCSADiscriminator` (fully connected semantic adaptation, §3.3.1)
  works on the per-class mean feature vectors ``V^k`` of an image (eq. 4):
  ``FC(n -> 1024) -> LeakyReLU(0.2) -> FC(1024 -> 2c)``.
* :class:`CSADiscriminator` (CNN semantic adaptation, §3.3.2) is the same
  network as 1x1 convolutions applied to every pixel of the feature map
  ``F`` (eq. 7-8).

Both take the feature map ``F`` (B, n, h, w) and the label map ``Y`` (any
resolution) in :meth:`forward`, downsample ``Y`` to ``F`` (nearest, the ``y``
of §3), and return ``(logits, classes)``: the ``2c``-way logits and the class
id each of them belongs to (``ignore_index`` where there is none), so that
:func:`semantic_adversarial_loss` computes eq. 5-8 for either discriminator.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmda.registry import MODELS

_DOMAIN_OFFSET = {'source': 0, 'target': 1}


def downsample_labels(labels: Tensor, size: Sequence[int]) -> Tensor:
    """Nearest-neighbour downsampling of label maps to the feature size.

    ``y`` in ASS §3 ("the downsampled label maps, of the same height and
    width as F"). Nearest keeps the ignore value and never mixes classes.

    Args:
        labels (Tensor): (B, H, W) or (B, 1, H, W) integer labels.
        size (Sequence[int]): (h, w) of the feature map.

    Returns:
        Tensor: (B, h, w) long labels.
    """
    if labels.dim() == 4:
        if labels.shape[1] != 1:
            raise ValueError('labels must be (B, H, W) or (B, 1, H, W), got '
                             f'{tuple(labels.shape)}')
        labels = labels[:, 0]
    if labels.dim() != 3:
        raise ValueError('labels must be (B, H, W) or (B, 1, H, W), got '
                         f'{tuple(labels.shape)}')
    size = (int(size[0]), int(size[1]))
    if tuple(labels.shape[-2:]) == size:
        return labels.long()
    out = F.interpolate(labels[:, None].float(), size=size, mode='nearest')
    return out[:, 0].long()


def check_labels(labels: Tensor, num_classes: int, ignore_index: int,
                 name: str = 'labels') -> None:
    """Raise a clear error for label values outside ``[0, c) + {ignore}``."""
    bad = ((labels < 0) | (labels >= num_classes)) & (labels != ignore_index)
    if bool(bad.any()):
        values = torch.unique(labels[bad])[:10].tolist()
        raise ValueError(
            f'{name}: values {values} are neither class ids in [0, '
            f'{num_classes}) nor the ignore index {ignore_index}; the '
            'semantic-level adaptation needs train-id label maps')


def class_mean_features(feats: Tensor,
                        labels: Tensor,
                        num_classes: int,
                        ignore_index: int = 255) -> Tuple[Tensor, Tensor]:
    """Per-image, per-class mean feature vectors ``V^k`` (ASS eq. 4).

    ``V^k = sum_{h,w} y^{(h,w,k)} F^{(h,w,:)} / sum_{h,w} y^{(h,w,k)}`` with
    ``y`` the one-hot labels at the feature resolution. Pixels labelled
    ``ignore_index`` belong to no class. Classes absent from an image get a
    zero vector and a zero count.

    Args:
        feats (Tensor): (B, n, h, w) feature map ``F``.
        labels (Tensor): (B, h, w) long labels at the feature resolution.
        num_classes (int): ``c``.
        ignore_index (int): label of unlabelled pixels. Defaults to 255.

    Returns:
        tuple[Tensor, Tensor]: means (B, c, n) and pixel counts (B, c).
    """
    B, n, h, w = feats.shape
    if labels.shape != (B, h, w):
        raise ValueError(f'class_mean_features: labels {tuple(labels.shape)} '
                         f'do not match the features {tuple(feats.shape)}; '
                         'downsample them first')
    lab = labels.reshape(B, h * w)
    # Ignored pixels go to an extra column that is dropped afterwards.
    lab = torch.where(lab == ignore_index, torch.full_like(lab, num_classes),
                      lab)
    onehot = F.one_hot(lab, num_classes + 1)[..., :num_classes]  # (B, hw, c)
    onehot = onehot.to(feats.dtype)
    counts = onehot.sum(dim=1)  # (B, c)
    sums = torch.bmm(onehot.transpose(1, 2), feats.reshape(B, n, h * w)
                     .transpose(1, 2))  # (B, c, n)
    means = sums / counts.clamp(min=1)[..., None]
    return means, counts


def semantic_adversarial_loss(logits: Tensor,
                              classes: Tensor,
                              num_classes: int,
                              domain: str,
                              ignore_index: int = 255) -> Tensor:
    """Cross-entropy of ``D_s`` outputs towards "class ``k`` of a domain".

    The target channel of an element of class ``k`` is ``k`` for
    ``domain='source'`` (z = 0) and ``k + c`` for ``domain='target'``
    (z = 1):

    * generator loss (eq. 5 / 7): ``domain='target'`` on source features;
    * discriminator loss (eq. 6 / 8): ``domain='source'`` on source features
      plus ``domain='target'`` on labelled-target features.

    The sums over classes (eq. 5-6) and pixels (eq. 7-8) are taken as means
    over the valid elements of the batch; the loss is 0 (with a graph) when
    there is none.

    Args:
        logits (Tensor): (M, 2c) (FCSA) or (B, 2c, h, w) (CSA) logits.
        classes (Tensor): (M,) or (B, h, w) class ids, ``ignore_index`` for
            elements to skip.
        num_classes (int): ``c``.
        domain (str): ``'source'`` or ``'target'``.
        ignore_index (int): Defaults to 255.

    Returns:
        Tensor: scalar loss.
    """
    if domain not in _DOMAIN_OFFSET:
        raise ValueError(f'domain must be one of {sorted(_DOMAIN_OFFSET)}, '
                         f'got {domain!r}')
    if logits.shape[1] != 2 * num_classes:
        raise ValueError(f'semantic discriminator logits need 2c = '
                         f'{2 * num_classes} channels, got '
                         f'{tuple(logits.shape)}')
    valid = classes != ignore_index
    target = torch.where(valid, classes + _DOMAIN_OFFSET[domain] * num_classes,
                         torch.zeros_like(classes))
    nll = F.cross_entropy(logits, target, reduction='none')
    valid = valid.to(nll.dtype)
    return (nll * valid).sum() / valid.sum().clamp(min=1)


class _SemanticDiscriminator(BaseModule):
    """Shared arguments and checks of the two semantic discriminators."""

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 hidden_channels: int = 1024,
                 negative_slope: float = 0.2,
                 ignore_index: int = 255,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        for key, value in (('in_channels', in_channels),
                           ('num_classes', num_classes),
                           ('hidden_channels', hidden_channels)):
            if int(value) < 1:
                raise ValueError(f'{name}: {key} must be >= 1, got {value}')
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.hidden_channels = int(hidden_channels)
        self.negative_slope = float(negative_slope)
        self.ignore_index = int(ignore_index)

    def _check_feats(self, feats: Tensor) -> None:
        if feats.dim() != 4 or feats.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects (B, {self.in_channels}, h, w) '
                f'feature maps, got {tuple(feats.shape)}')

    def loss(self, logits: Tensor, classes: Tensor, domain: str) -> Tensor:
        """:func:`semantic_adversarial_loss` with this discriminator's
        ``num_classes`` and ``ignore_index``."""
        return semantic_adversarial_loss(logits, classes, self.num_classes,
                                         domain, self.ignore_index)


@MODELS.register_module()
class FCSADiscriminator(_SemanticDiscriminator):
    """Fully connected semantic-level discriminator (ASS §3.3.1, §4.1).

    ``FC(n -> hidden) -> LeakyReLU(slope) -> FC(hidden -> 2c)`` applied to the
    per-class mean features ``V^k`` of each image (eq. 4).

    Args:
        in_channels (int): ``n``, channels of the feature map ``F`` (2048
            for DeepLabV2-ResNet101).
        num_classes (int): ``c``.
        hidden_channels (int): Defaults to 1024 (§4.1).
        negative_slope (float): LeakyReLU slope. Defaults to 0.2 (§4.1).
        ignore_index (int): Defaults to 255.
        init_cfg (dict, optional): Defaults to None (PyTorch's default).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fc1 = nn.Linear(self.in_channels, self.hidden_channels)
        self.act = nn.LeakyReLU(self.negative_slope, inplace=True)
        self.fc2 = nn.Linear(self.hidden_channels, 2 * self.num_classes)

    def classify(self, vectors: Tensor) -> Tensor:
        """(M, n) semantic-level feature vectors -> (M, 2c) logits."""
        if vectors.dim() != 2 or vectors.shape[1] != self.in_channels:
            raise ValueError(f'FCSADiscriminator.classify expects (M, '
                             f'{self.in_channels}) vectors, got '
                             f'{tuple(vectors.shape)}')
        return self.fc2(self.act(self.fc1(vectors)))

    def forward(self, feats: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Classify the class-mean features of every (image, present class).

        Args:
            feats (Tensor): (B, n, h, w) feature map ``F``.
            labels (Tensor): (B, H, W) or (B, 1, H, W) label map ``Y``
                (downsampled to (h, w) here).

        Returns:
            tuple[Tensor, Tensor]: (M, 2c) logits and the (M,) class of each
            row, for the M (image, class) pairs with at least one labelled
            pixel at the feature resolution (row-major over images, then
            classes).
        """
        self._check_feats(feats)
        y = downsample_labels(labels, feats.shape[-2:])
        means, counts = class_mean_features(feats, y, self.num_classes,
                                            self.ignore_index)
        present = counts > 0  # (B, c)
        classes = torch.arange(self.num_classes, device=feats.device)
        classes = classes.expand_as(present)[present]
        return self.classify(means[present]), classes


@MODELS.register_module()
class CSADiscriminator(_SemanticDiscriminator):
    """CNN semantic-level discriminator (ASS §3.3.2, §4.1).

    ``Conv1x1(n -> hidden) -> LeakyReLU(slope) -> Conv1x1(hidden -> 2c)``:
    :class:`FCSADiscriminator`'s network on every pixel of ``F``.

    Args: see :class:`FCSADiscriminator`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conv1 = nn.Conv2d(self.in_channels, self.hidden_channels, 1)
        self.act = nn.LeakyReLU(self.negative_slope, inplace=True)
        self.conv2 = nn.Conv2d(self.hidden_channels, 2 * self.num_classes, 1)

    def classify(self, feats: Tensor) -> Tensor:
        """(B, n, h, w) features -> (B, 2c, h, w) logits."""
        self._check_feats(feats)
        return self.conv2(self.act(self.conv1(feats)))

    def forward(self, feats: Tensor, labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Classify every pixel of ``F``.

        Args:
            feats (Tensor): (B, n, h, w) feature map ``F``.
            labels (Tensor): (B, H, W) or (B, 1, H, W) label map ``Y``.

        Returns:
            tuple[Tensor, Tensor]: (B, 2c, h, w) logits and the (B, h, w)
            downsampled labels ``y`` (``ignore_index`` kept).
        """
        logits = self.classify(feats)
        return logits, downsample_labels(labels, feats.shape[-2:])
