# Copyright (c) mmda contributors. All rights reserved.
"""VGG16 backbone for DeepLab-LargeFOV (DeepLab-v2-VGG16) and FCN8s.

The 13 convolutions live in ``self.features``, an ``nn.Sequential`` with the
same indices as ``torchvision.models.vgg16().features`` (conv1_1 = ``0``,
pool1 = ``4`` ... conv5_3 = ``28``, pool5 = ``30``), so torchvision ImageNet
weights map onto it one to one; the fully connected layers become the
convolutions ``fc6`` / ``fc7`` (``tools/model_converters/vgg16_torchvision.py``
reshapes or decimates torchvision's ``classifier.0`` / ``classifier.3``).

Two configurations are used in mmda:

* DeepLab-LargeFOV (Chen et al., ICLR 2015, Sec. 3.1 and 4.1; the
  "DeepLabV2-VGG16" of Scherer et al. 2021, Sec. 4.2) -- the defaults:
  pool4 and pool5 with stride 1 (3x3 kernel, padding 1), conv5_x dilated by 2,
  ``fc6`` = 3x3 conv with dilation 12 and 1024 channels, ``fc7`` = 1x1 conv
  with 1024 channels, dropout 0.5 after fc6 (the one after fc7 is the head's
  ``dropout_ratio``). Output stride 8.
* FCN8s (Long et al., CVPR 2015): all pools with stride 2, no dilation,
  ``fc6`` = 7x7 conv with 4096 channels (padding 3 instead of Caffe's
  ``pad=100`` on conv1_1 + crops, so that the feature maps stay aligned with
  the image), ``fc7`` = 1x1 conv with 4096 channels; outputs pool3 (stride 8),
  pool4 (stride 16) and fc7 (stride 32): ``out_indices=(2, 3, 5)``.

Stride-2 pools are torchvision's 2x2 max-pools (Caffe DeepLab uses 3x3/2 with
padding 1, which gives the same output size for even inputs).
"""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmda.registry import MODELS

# Output channels of the 13 convs, grouped in the 5 blocks (torchvision cfg D).
_VGG16_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512),
                 (512, 512, 512))


@MODELS.register_module()
class VGG16(BaseModule):
    """VGG16 with dilations, configurable pool strides and conv fc6/fc7.

    Args:
        in_channels (int): Input image channels. Default 3.
        pool_strides (Sequence[int]): Stride (1 or 2) of pool1..pool5.
            Default ``(2, 2, 2, 1, 1)`` (DeepLab-LargeFOV).
        block_dilations (Sequence[int]): Dilation of the 3x3 convs of blocks
            1..5. Default ``(1, 1, 1, 1, 2)`` (DeepLab-LargeFOV).
        pool_ceil_mode (bool): ``ceil_mode`` of the stride-2 pools.
            Default False (torchvision).
        with_fc (bool): Build fc6/fc7. Default True.
        fc6_channels (int): Default 1024 (LargeFOV); 4096 for FCN.
        fc6_kernel_size (int): Default 3 (LargeFOV); 7 for FCN.
        fc6_dilation (int): Default 12 (LargeFOV); 1 for FCN.
        fc7_channels (int): Default 1024 (LargeFOV); 4096 for FCN.
        fc_dropout (float): Dropout ratio after fc6's ReLU. Default 0.5.
            ``nn.Dropout2d`` (whole channels), like mmseg's decode heads and
            the BDL/LSE ``VGG16_FCN8s``; Caffe's DeepLab drops elements.
        out_indices (Sequence[int]): Which outputs to return: 0..4 = pool1..
            pool5 outputs, 5 = fc7 (after ReLU); returned in increasing index
            order. Default ``(5,)``.
        init_cfg (dict | list[dict], optional): Default: Kaiming normal
            (fan_out, ReLU) convs with zero bias, as torchvision's VGG.
    """

    # Index of pool_i in ``features`` is _POOL_IDX[i] (torchvision layout).
    _POOL_IDX = (4, 9, 16, 23, 30)

    def __init__(self,
                 in_channels: int = 3,
                 pool_strides: Sequence[int] = (2, 2, 2, 1, 1),
                 block_dilations: Sequence[int] = (1, 1, 1, 1, 2),
                 pool_ceil_mode: bool = False,
                 with_fc: bool = True,
                 fc6_channels: int = 1024,
                 fc6_kernel_size: int = 3,
                 fc6_dilation: int = 12,
                 fc7_channels: int = 1024,
                 fc_dropout: float = 0.5,
                 out_indices: Sequence[int] = (5, ),
                 init_cfg: Optional[Union[dict, list]] = dict(
                     type='Kaiming',
                     layer='Conv2d',
                     mode='fan_out',
                     nonlinearity='relu',
                     bias=0)) -> None:
        super().__init__(init_cfg)
        if len(pool_strides) != 5 or any(s not in (1, 2)
                                         for s in pool_strides):
            raise ValueError('VGG16: `pool_strides` must be 5 values in '
                             f'{{1, 2}}, got {pool_strides!r}.')
        if len(block_dilations) != 5 or any(
                int(d) < 1 for d in block_dilations):
            raise ValueError('VGG16: `block_dilations` must be 5 positive '
                             f'ints, got {block_dilations!r}.')
        n_out = 6 if with_fc else 5
        if len(out_indices) == 0 or any(i not in range(n_out)
                                        for i in out_indices):
            raise ValueError(
                f'VGG16: `out_indices` must be in 0..{n_out - 1} (0-4 = '
                'pool1-pool5' + (', 5 = fc7' if with_fc else
                                 '; fc7 needs with_fc=True') +
                f'), got {out_indices!r}.')
        if fc6_kernel_size % 2 == 0:
            raise ValueError('VGG16: `fc6_kernel_size` must be odd, got '
                             f'{fc6_kernel_size}.')
        self.pool_strides = tuple(pool_strides)
        self.block_dilations = tuple(block_dilations)
        self.out_indices = tuple(sorted(set(out_indices)))
        self.with_fc = with_fc

        layers = []
        c_in = in_channels
        for channels, stride, dilation in zip(_VGG16_BLOCKS, pool_strides,
                                              block_dilations):
            for c_out in channels:
                layers += [
                    nn.Conv2d(
                        c_in, c_out, 3, padding=dilation, dilation=dilation),
                    nn.ReLU(inplace=True)
                ]
                c_in = c_out
            if stride == 2:
                layers.append(
                    nn.MaxPool2d(2, stride=2, ceil_mode=pool_ceil_mode))
            else:  # DeepLab: 3x3 pool with stride 1 keeps the resolution
                layers.append(nn.MaxPool2d(3, stride=1, padding=1))
        self.features = nn.Sequential(*layers)
        assert all(
            isinstance(self.features[i], nn.MaxPool2d)
            for i in self._POOL_IDX)

        if with_fc:
            self.fc6 = nn.Conv2d(
                c_in,
                fc6_channels,
                fc6_kernel_size,
                padding=fc6_dilation * (fc6_kernel_size // 2),
                dilation=fc6_dilation)
            self.fc6_relu = nn.ReLU(inplace=True)
            self.fc6_dropout = nn.Dropout2d(
                fc_dropout) if fc_dropout > 0 else nn.Identity()
            self.fc7 = nn.Conv2d(fc6_channels, fc7_channels, 1)
            self.fc7_relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the requested pool / fc7 feature maps (in index order)."""
        outs = []
        start = 0
        last = max(self.out_indices)
        for i, end in enumerate(self._POOL_IDX):
            x = self.features[start:end + 1](x)
            start = end + 1
            if i in self.out_indices:
                outs.append(x)
            if i == last:
                return tuple(outs)
        x = self.fc6_dropout(self.fc6_relu(self.fc6(x)))
        x = self.fc7_relu(self.fc7(x))
        outs.append(x)
        return tuple(outs)
