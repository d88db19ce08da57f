# Copyright (c) mmda contributors. All rights reserved.
"""FCN-8s decoder (Long et al., "Fully Convolutional Networks for Semantic
Segmentation", CVPR 2015, Sec. 4.2 and Fig. 3).

``score_fr`` (1x1 conv on fc7, stride 32) is upsampled x2 and added to
``score_pool4`` (1x1 conv on pool4, stride 16); the sum is upsampled x2 and
added to ``score_pool3`` (1x1 conv on pool3, stride 8). The x2 upsamplings are
transposed convolutions initialised to bilinear interpolation and learnable
(paper Sec. 3.3 / 4.2); the skip scorers are zero-initialised (paper Sec. 4.2,
and the BDL / LSE ``VGG16_FCN8s`` code) so that training starts from the
coarse prediction. The final x8 upsampling to the image is the segmentor's
bilinear resize (fixed bilinear in FCN-8s).
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize

from mmda.registry import MODELS


def bilinear_upsample_weight(channels: int, kernel_size: int) -> Tensor:
    """Weight of a per-channel bilinear ``ConvTranspose2d`` (FCN's
    ``upsample_filt``), shape (channels, channels, k, k), zero off-diagonal.

    Args:
        channels (int): Input = output channels.
        kernel_size (int): Kernel size (``2 * factor`` for a x``factor``
            upsampling).

    Returns:
        Tensor: The weight.
    """
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = torch.arange(kernel_size, dtype=torch.float32)
    filt1d = 1 - (og - center).abs() / factor
    filt = filt1d[:, None] * filt1d[None, :]
    weight = torch.zeros(channels, channels, kernel_size, kernel_size)
    idx = torch.arange(channels)
    weight[idx, idx] = filt
    return weight


@MODELS.register_module()
class FCN8sHead(BaseDecodeHead):
    """FCN-8s skip-fusion head on (pool3, pool4, fc7) features.

    Args:
        in_channels (Sequence[int]): Channels of pool3, pool4 and fc7.
            Default ``(256, 512, 4096)`` (VGG16).
        in_index (Sequence[int]): Indices of pool3, pool4, fc7 in the backbone
            outputs. Default ``(0, 1, 2)``.
        dropout_ratio (float): Dropout2d on fc7 before ``score_fr`` (FCN's
            drop7). Default 0.5.
        learnable_upsample (bool): Bilinear-initialised learnable transposed
            convs (True, FCN-8s) or fixed bilinear resizing (False).
        init_cfg (dict): Init of ``score_fr`` (``self.conv_seg``). Default
            Normal(std=0.01), mmseg's default for the classifier.
        **kwargs: Other :class:`BaseDecodeHead` arguments.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 4096),
                 in_index: Sequence[int] = (0, 1, 2),
                 dropout_ratio: float = 0.5,
                 learnable_upsample: bool = True,
                 init_cfg: dict = dict(
                     type='Normal', std=0.01, override=dict(name='conv_seg')),
                 **kwargs) -> None:
        if not isinstance(in_channels, (list, tuple)) or len(in_channels) != 3:
            raise ValueError(
                'FCN8sHead: `in_channels` must be (pool3, pool4, fc7) '
                f'channels, got {in_channels!r}.')
        if not isinstance(in_index, (list, tuple)) or len(in_index) != 3:
            raise ValueError('FCN8sHead: `in_index` must be 3 indices of '
                             f'(pool3, pool4, fc7), got {in_index!r}.')
        for key in ('channels', 'input_transform'):
            if key in kwargs:
                raise ValueError(f'FCN8sHead: `{key}` is fixed by the head; '
                                 'remove it from the decode_head config.')
        super().__init__(
            in_channels=list(in_channels),
            channels=in_channels[2],  # score_fr = conv_seg acts on fc7
            in_index=list(in_index),
            input_transform='multiple_select',
            dropout_ratio=dropout_ratio,
            init_cfg=init_cfg,
            **kwargs)
        c = self.out_channels
        self.score_pool4 = nn.Conv2d(in_channels[1], c, 1)
        self.score_pool3 = nn.Conv2d(in_channels[0], c, 1)
        self.learnable_upsample = learnable_upsample
        if learnable_upsample:
            self.upscore2 = nn.ConvTranspose2d(
                c, c, 4, stride=2, padding=1, bias=False)
            self.upscore_pool4 = nn.ConvTranspose2d(
                c, c, 4, stride=2, padding=1, bias=False)
        self._init_fcn_layers()

    def _init_fcn_layers(self) -> None:
        with torch.no_grad():
            for conv in (self.score_pool4, self.score_pool3):
                conv.weight.zero_()
                conv.bias.zero_()
            if self.learnable_upsample:
                w = bilinear_upsample_weight(self.out_channels, 4)
                self.upscore2.weight.copy_(w)
                self.upscore_pool4.weight.copy_(w)

    def init_weights(self) -> None:
        """Apply ``init_cfg`` (score_fr), then FCN's own initialisation
        (zero skip scorers, bilinear upsampling), unless loading weights."""
        was_init = self.is_init
        super().init_weights()
        if was_init:
            return
        init_cfg = self.init_cfg if isinstance(self.init_cfg, list) \
            else [self.init_cfg]
        if not any(
                isinstance(c, dict) and c.get('type') == 'Pretrained'
                for c in init_cfg):
            self._init_fcn_layers()

    def _upsample(self, deconv_name: str, x: Tensor, size) -> Tensor:
        if self.learnable_upsample:
            x = getattr(self, deconv_name)(x)
        if tuple(x.shape[2:]) != tuple(size):
            # odd sizes (input not a multiple of 32) or fixed upsampling
            x = resize(
                x, size=size, mode='bilinear',
                align_corners=self.align_corners)
        return x

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        """Fuse the three scores; returns logits at pool3's resolution."""
        pool3, pool4, fc7 = self._transform_inputs(inputs)
        score = self.cls_seg(fc7)  # drop7 + score_fr
        score = self._upsample('upscore2', score, pool4.shape[2:]) \
            + self.score_pool4(pool4)
        score = self._upsample('upscore_pool4', score, pool3.shape[2:]) \
            + self.score_pool3(pool3)
        return score
