# Copyright (c) mmda contributors. All rights reserved.
"""Output-space discriminator of AdaptSegNet (Tsai et al., CVPR 2018, §3.1).

ASS (Wang et al. 2020, §3.2 and §4.1) uses it unchanged as the discriminator
``D_g`` of its global adaptation module: a fully convolutional network on the
softmax score maps ``P`` (``c`` channels) made of 4x4 convolutions with stride
2 and 64-128-256-512 channels, each followed by a LeakyReLU of slope 0.2, and
a last 4x4 stride-2 convolution to one channel: the logit of "this pixel of
the confidence map comes from the target domain" (0 = source, 1 = target in
the ASS notation, eq. 2-3).
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmda.registry import MODELS
from ..losses.gan_loss import adversarial_loss

#: The value of the discriminator target for each domain (ASS eq. 2-3:
#: "0 as the source domain pixel and 1 as the target domain pixel").
DOMAIN_LABELS = {'source': 0.0, 'target': 1.0}


def _domain_value(domain: str) -> float:
    if domain not in DOMAIN_LABELS:
        raise ValueError(f'domain must be one of {sorted(DOMAIN_LABELS)}, '
                         f'got {domain!r}')
    return DOMAIN_LABELS[domain]


def output_space_adversarial_loss(logits: Tensor, domain: str) -> Tensor:
    """Binary cross-entropy of the discriminator logits against one domain.

    ``-mean_{h',w'} log D(P)^{(h',w',z)}`` with ``D = sigmoid(logits)``; the
    sums of ASS eq. 2-3 are taken as means over the confidence map and the
    batch, as in the AdaptSegNet code (``BCEWithLogitsLoss``), so that the
    loss weights do not depend on the crop size.

    * generator loss (eq. 2): ``output_space_adversarial_loss(D(P_s),
      'target')``;
    * discriminator loss (eq. 3): ``output_space_adversarial_loss(D(P_s),
      'source') + output_space_adversarial_loss(D(P_t), 'target')``.

    Args:
        logits (Tensor): discriminator output of any shape (usually
            (B, 1, h', w')).
        domain (str): ``'source'`` (label 0) or ``'target'`` (label 1).

    Returns:
        Tensor: scalar loss.
    """
    return adversarial_loss(logits, _domain_value(domain), 'vanilla')


@MODELS.register_module(name=['OutputSpaceDiscriminator', 'FCDiscriminator'])
class OutputSpaceDiscriminator(BaseModule):
    """AdaptSegNet's fully convolutional output-space discriminator.

    Registered as ``OutputSpaceDiscriminator`` and (AdaptSegNet's name)
    ``FCDiscriminator``.

    Args:
        in_channels (int): channels of the input score maps (the number of
            classes, 19 for Cityscapes).
        channels (Sequence[int]): output channels of the hidden 4x4 stride-2
            convolutions. Defaults to (64, 128, 256, 512) (AdaptSegNet,
            ASS §4.1); tests and toy configs use smaller ones.
        kernel_size (int): kernel size of every convolution. Defaults to 4.
        negative_slope (float): LeakyReLU slope. Defaults to 0.2.
        init_cfg (dict, optional): mmengine init config. Defaults to None
            (PyTorch's default initialisation, as in AdaptSegNet).
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int] = (64, 128, 256, 512),
                 kernel_size: int = 4,
                 negative_slope: float = 0.2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if int(in_channels) < 1:
            raise ValueError('OutputSpaceDiscriminator: in_channels must be '
                             f'>= 1, got {in_channels}')
        channels = tuple(int(c) for c in channels)
        if len(channels) == 0 or min(channels) < 1:
            raise ValueError('OutputSpaceDiscriminator: channels must be a '
                             f'non-empty list of positive ints, got {channels}')
        self.in_channels = int(in_channels)
        self.channels = channels
        self.negative_slope = float(negative_slope)
        pad = 1 if kernel_size == 4 else kernel_size // 2
        layers = []
        prev = self.in_channels
        for ch in channels:
            layers.append(nn.Conv2d(prev, ch, kernel_size, stride=2,
                                    padding=pad))
            layers.append(nn.LeakyReLU(self.negative_slope, inplace=True))
            prev = ch
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(prev, 1, kernel_size, stride=2,
                                    padding=pad)

    def forward(self, x: Tensor) -> Tensor:
        """Score every location of the confidence map.

        Args:
            x (Tensor): (B, in_channels, H, W) softmax score maps.

        Returns:
            Tensor: (B, 1, h', w') logits of "target domain"; with the default
            4x4 kernels h' = H / 2^(len(channels)+1) (rounded down).
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                'OutputSpaceDiscriminator expects (B, '
                f'{self.in_channels}, H, W) score maps, got '
                f'{tuple(x.shape)}')
        return self.classifier(self.features(x))
