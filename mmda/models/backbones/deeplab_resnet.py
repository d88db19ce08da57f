# Copyright (c) mmda contributors. All rights reserved.
"""ResNet of the Caffe DeepLab-v2 models used by AdaptSegNet / DACS.

The COCO-pretrained DeepLab-v2 ResNet-101 checkpoints of AdaptSegNet
(``DeepLab_resnet_pretrained_init-f81d91e8.pth``) and of DACS / AdvSemiSeg
(``resnet101COCO-41f33a49.pth``) come from the Caffe model of Chen et al.
Their PyTorch definition (``model/deeplab.py`` in those repositories) differs
from torchvision's ResNet in two ways:

* in a bottleneck the stride sits on the first 1x1 convolution ("caffe"
  style; mmseg's ``ResNet(style='caffe')`` does exactly this);
* the stem max-pooling uses ``ceil_mode=True`` (a 512x512 crop gives 129x129
  after the stem instead of 128x128, and 65x65 output logits).

Everything else (7x7 stem conv, downsample = strided 1x1 conv + BN, BN
``eps=1e-5``, dilations 2 and 4 in the last two stages without "contraction")
is mmseg's ``ResNet``, whose parameter names are also those of the checkpoint.
"""
from mmseg.models.backbones.resnet import ResNet

from mmda.registry import MODELS


@MODELS.register_module()
class DeepLabResNet(ResNet):
    """mmseg ``ResNet`` with a configurable stem max-pool rounding mode.

    Args:
        stem_pool_ceil_mode (bool): ``ceil_mode`` of the 3x3/2 stem max-pool.
            Default True (Caffe DeepLab-v2, AdaptSegNet, DACS). With False this
            is exactly mmseg's ``ResNet``.
        **kwargs: Arguments of mmseg's ``ResNet`` (use ``style='caffe'`` for
            the DeepLab-v2 Caffe checkpoints).
    """

    def __init__(self, stem_pool_ceil_mode: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stem_pool_ceil_mode = bool(stem_pool_ceil_mode)
        self.maxpool.ceil_mode = self.stem_pool_ceil_mode
