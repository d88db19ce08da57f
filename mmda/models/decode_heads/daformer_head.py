# Copyright (c) mmda contributors. All rights reserved.
"""DAFormer decoder with context-aware feature fusion (``DAFormerHead``).

Hoyer et al., "DAFormer: Improving Network Architectures and Training
Strategies for Domain-Adaptive Semantic Segmentation", CVPR 2022, Sec. 3.2
("DAFormer network architecture", Fig. 3):

1. every selected encoder level i (MiT-B5: 64, 128, 320, 512 channels at
   strides 4, 8, 16, 32) is embedded to ``C_e`` channels by a 1x1 layer
   (a per-pixel linear map; no normalisation, no activation);
2. the embeddings are bilinearly upsampled to the resolution of the first
   (stride-4) level and concatenated (``4 * C_e`` channels);
3. the concatenation is fused by parallel depthwise-separable dilated 3x3
   convolutions with rates 1, 6, 12 and 18 (an ASPP without image pooling;
   the rate-1 branch is a plain 1x1 convolution) -- each with BN + ReLU --
   whose outputs are concatenated and reduced to ``C_e`` channels by a 3x3
   ConvModule (BN + ReLU), followed by dropout (0.1) and the 1x1 classifier.

Details the paper leaves open follow the authors' code (DAFormer repository,
``mmseg/models/decode_heads/daformer_head.py`` and
``configs/_base_/models/daformer_sepaspp_mitb5.py``): ``C_e = 256``, the
embedding is their ``mlp`` (a linear layer on the flattened tokens, the same
map as a 1x1 convolution with bias), the fusion is ``ASPPWrapper(sep=True,
dilations=(1, 6, 12, 18), pool=False)`` with a 3x3 bottleneck, BN everywhere.
The depthwise and pointwise parts of the separable convolutions each have
BN + ReLU (mmcv's ``DepthwiseSeparableConvModule`` default).

Parameter count for MiT-B5 inputs, ``C_e = 256``, 19 classes (worked out in
``tests/models/segmentors/test_daformer.py`` and ``docs/daformer_mic.md``): 3,712,275.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.aspp_head import ASPPModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.sep_aspp_head import \
    DepthwiseSeparableASPPModule
from mmseg.models.utils import resize
from torch import Tensor

from mmda.registry import MODELS


@MODELS.register_module()
class DAFormerHead(BaseDecodeHead):
    """DAFormer decoder (Hoyer et al. 2022, Sec. 3.2).

    Args:
        in_channels (Sequence[int]): channels of the selected encoder levels
            (MiT-B5: ``[64, 128, 320, 512]``).
        channels (int): the embedding and fused width ``C_e`` (256).
        in_index (Sequence[int]): encoder levels used (``[0, 1, 2, 3]``).
        embed_dims (int | Sequence[int], optional): per-level embedding
            width; defaults to ``channels`` for every level.
        dilations (Sequence[int]): rates of the fusion branches
            (``(1, 6, 12, 18)``; a rate of 1 is a 1x1 convolution).
        separable (bool): depthwise-separable fusion convolutions (DAFormer,
            True) or dense ones (the paper's "ASPP" ablation of Table 7,
            False).
        bottleneck_kernel (int): kernel of the convolution that reduces the
            concatenated branches to ``channels`` (3 in the authors' code).
        **kwargs: other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``dropout_ratio``, ``norm_cfg``, ``align_corners``,
            ``loss_decode``...). ``input_transform`` is fixed to
            ``'multiple_select'``.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 embed_dims=None,
                 dilations: Sequence[int] = (1, 6, 12, 18),
                 separable: bool = True,
                 bottleneck_kernel: int = 3,
                 **kwargs) -> None:
        if kwargs.get('input_transform', 'multiple_select') != \
                'multiple_select':
            raise ValueError(
                'DAFormerHead: input_transform is always '
                "'multiple_select' (one embedding per level); remove "
                f"input_transform={kwargs['input_transform']!r} from the "
                'decode_head config')
        kwargs['input_transform'] = 'multiple_select'
        if not isinstance(in_channels, (list, tuple)) or \
                len(in_channels) == 0:
            raise ValueError(
                'DAFormerHead: in_channels must list the channels of every '
                f'selected encoder level, got {in_channels!r}')
        if not isinstance(dilations, (list, tuple)) or len(dilations) == 0 \
                or not all(isinstance(d, int) and d >= 1 for d in dilations):
            raise ValueError('DAFormerHead: dilations must be a non-empty '
                             f'list of positive ints, got {dilations!r}')
        if bottleneck_kernel < 1 or bottleneck_kernel % 2 == 0:
            raise ValueError('DAFormerHead: bottleneck_kernel must be odd, '
                             f'got {bottleneck_kernel}')
        super().__init__(in_channels, channels, **kwargs)
        if embed_dims is None:
            embed_dims = channels
        if isinstance(embed_dims, int):
            embed_dims = [embed_dims] * len(self.in_channels)
        if len(embed_dims) != len(self.in_channels):
            raise ValueError(
                f'DAFormerHead: embed_dims has {len(embed_dims)} entries for '
                f'{len(self.in_channels)} input levels')
        self.embed_dims = list(embed_dims)
        self.dilations = tuple(dilations)
        self.separable = bool(separable)

        # 1. per-level 1x1 embedding (linear: no norm, no activation)
        self.embed_layers = nn.ModuleList([
            ConvModule(c_in, c_e, 1, norm_cfg=None, act_cfg=None)
            for c_in, c_e in zip(self.in_channels, self.embed_dims)
        ])
        # 3. ASPP-like fusion of the concatenated embeddings
        fused_in = sum(self.embed_dims)
        aspp = DepthwiseSeparableASPPModule if self.separable else ASPPModule
        self.fusion_branches = aspp(
            dilations=self.dilations,
            in_channels=fused_in,
            channels=self.channels,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.fusion_bottleneck = ConvModule(
            len(self.dilations) * self.channels,
            self.channels,
            bottleneck_kernel,
            padding=bottleneck_kernel // 2,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def embed_and_concat(self, inputs: List[Tensor]) -> Tensor:
        """Steps 1-2: embed every level, upsample to level 0, concatenate."""
        feats = self._transform_inputs(inputs)
        size = feats[0].shape[2:]
        out = []
        for feat, embed in zip(feats, self.embed_layers):
            e = embed(feat)
            if e.shape[2:] != size:
                e = resize(e, size=size, mode='bilinear',
                           align_corners=self.align_corners)
            out.append(e)
        return torch.cat(out, dim=1)

    def fuse(self, x: Tensor) -> Tensor:
        """Step 3: parallel (separable) dilated branches + bottleneck."""
        return self.fusion_bottleneck(
            torch.cat(self.fusion_branches(x), dim=1))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        return self.cls_seg(self.fuse(self.embed_and_concat(inputs)))
