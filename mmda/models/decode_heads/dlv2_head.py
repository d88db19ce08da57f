# Copyright (c) mmda contributors. All rights reserved.
"""DeepLab-v2 ASPP classifier (``DLV2Head``).

DeepLab-v2 (Chen et al., TPAMI 2018, Sec. 3.2 / Fig. 4) predicts class logits
with an "ASPP" made of parallel 3x3 atrous convolutions applied straight to the
backbone features; their outputs are *summed* (no extra bottleneck conv, no
normalisation, no activation, no dropout in the ResNet-101 model).

The AdaptSegNet / DACS implementation (``Classifier_Module.forward``) has a
``return`` inside its summation loop, so although four convolutions (rates 6,
12, 18, 24) are created and stored in their checkpoints, only the first two
(rates 6 and 12) contribute to the output. Reproduce that with
``dilations=(6, 12)`` (see ``configs/_base_/models/deeplabv2_r101_coco.py``);
the paper's model is the default ``(6, 12, 18, 24)``.
"""
from typing import Sequence, Tuple

import torch.nn as nn
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from mmda.registry import MODELS


@MODELS.register_module()
class DLV2Head(BaseDecodeHead):
    """Sum of parallel dilated convolutions from features to class logits.

    Args:
        in_channels (int): Channels of the input feature map (2048 for
            ResNet-101, 1024 for the DeepLab-LargeFOV VGG16 fc7).
        dilations (Sequence[int]): One convolution per rate. Default
            ``(6, 12, 18, 24)`` (DeepLab-v2 ASPP-L). ``(6, 12)`` reproduces the
            AdaptSegNet/DACS code, ``(12,)`` with ``kernel_size=3`` a
            LargeFOV-style single branch.
        kernel_size (int): Kernel size of every branch (odd). Default 3;
            1 gives DeepLab-LargeFOV's ``fc8`` (then use ``dilations=(1,)``).
        dropout_ratio (float): Dropout2d applied to the input features before
            the convolutions (the classifier-path dropout of DeepLab-LargeFOV /
            VGG16 models). Default 0, as in DeepLab-v2-ResNet101.
        init_cfg (dict): Default: ``Normal(std=0.01)`` on the branch
            convolutions with zero bias, as ``Classifier_Module`` of
            AdaptSegNet / DACS (``weight.data.normal_(0, 0.01)``).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``in_index``, ``loss_decode``, ``align_corners``, ...).
            ``channels``, ``norm_cfg`` and ``act_cfg`` are meaningless for this
            head and are rejected.
    """

    def __init__(self,
                 in_channels: int,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 kernel_size: int = 3,
                 dropout_ratio: float = 0.0,
                 init_cfg: dict = dict(
                     type='Normal', std=0.01, bias=0,
                     override=dict(name='aspp_convs')),
                 **kwargs) -> None:
        for key in ('channels', 'norm_cfg', 'act_cfg'):
            if key in kwargs:
                raise ValueError(
                    f'DLV2Head: `{key}` is not an argument of this head (its '
                    'branches map features straight to class logits); remove '
                    f'`{key}` from the decode_head config.')
        if not isinstance(dilations, (list, tuple)) or len(dilations) == 0 \
                or not all(isinstance(d, int) and d >= 1 for d in dilations):
            raise ValueError(
                'DLV2Head: `dilations` must be a non-empty list/tuple of '
                f'positive ints, got {dilations!r}.')
        if kwargs.get('input_transform') == 'multiple_select':
            raise ValueError(
                "DLV2Head: input_transform='multiple_select' gives a list of "
                "maps; use None (one map) or 'resize_concat'.")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f'DLV2Head: `kernel_size` must be odd, got {kernel_size}.')
        super().__init__(
            in_channels,
            channels=in_channels,  # unused: there is no intermediate layer
            dropout_ratio=dropout_ratio,
            init_cfg=init_cfg,
            **kwargs)
        # The branches replace ``conv_seg``: delete it so that it neither takes
        # parameters nor appears in checkpoints.
        del self.conv_seg
        self.dilations = tuple(dilations)
        self.kernel_size = kernel_size
        pad = kernel_size // 2
        self.aspp_convs = nn.ModuleList([
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                kernel_size=kernel_size,
                padding=pad * d,
                dilation=d,
                bias=True) for d in self.dilations
        ])

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        """Sum the branch outputs.

        Args:
            inputs (tuple[Tensor]): Backbone outputs.

        Returns:
            Tensor: Logits of shape (N, num_classes, H, W) at the feature
            resolution.
        """
        return self.cls_seg(self._transform_inputs(inputs))

    def cls_seg(self, feat: Tensor) -> Tensor:
        """Classify each pixel: (dropout, then) the sum of the branches.

        Args:
            feat (Tensor): One feature map of shape (N, in_channels, H, W).

        Returns:
            Tensor: Logits of shape (N, num_classes, H, W).
        """
        if self.dropout is not None:
            feat = self.dropout(feat)
        out = self.aspp_convs[0](feat)
        for conv in self.aspp_convs[1:]:
            out = out + conv(feat)
        return out
