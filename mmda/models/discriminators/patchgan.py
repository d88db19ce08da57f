"""PatchGAN discriminator (Isola et al., 2017), as used by CycleGAN and by
Scherer et al. (2021), §4.2. With the default ``num_layers=3`` every output
logit sees a 70x70 input patch (see
:meth:`PatchDiscriminator.receptive_field`).
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from mmda.registry import MODELS
from ..utils import GANModule


@MODELS.register_module()
class PatchDiscriminator(GANModule):
    """N-layer PatchGAN: C64-C128-C256-C512 (4x4 convs, LeakyReLU 0.2), then a
    4x4 conv to one logit per patch.

    Layout (``num_layers = n``): conv4 s2 (no norm) -> (n - 1) x [conv4 s2,
    norm] -> conv4 s1, norm -> conv4 s1 to 1 channel, channels doubling up to
    ``base_channels * max_mult``.

    Args:
        in_channels (int): Input image channels. Default: 3.
        base_channels (int): Channels of the first conv (``ndf``). Default: 64.
        num_layers (int): Number of stride-2 convs. Default: 3 (70x70 patches).
        max_mult (int): Channel multiplier cap. Default: 8.
        norm_cfg (dict, optional): mmcv norm config. Default: InstanceNorm
            (CycleGAN). ``None`` disables norms.
        init_std (float): Std of the normal weight init (CycleGAN: 0.02).
        init_cfg (dict, optional): mmengine init config (overrides the
            default normal init).
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_layers: int = 3,
                 max_mult: int = 8,
                 norm_cfg: Optional[dict] = dict(type='IN'),
                 init_std: float = 0.02,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1 or base_channels < 1:
            raise ValueError('PatchDiscriminator: num_layers and base_channels'
                             f' must be >= 1, got {num_layers}, '
                             f'{base_channels}')
        self.in_channels = in_channels
        self.init_std = init_std
        bias = norm_cfg is None or norm_cfg.get('type') not in ('BN', 'SyncBN')

        def norm(ch):
            if norm_cfg is None:
                return nn.Identity()
            return build_norm_layer(norm_cfg, ch)[1]

        layers = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True)
        ]
        mult = 1
        for n in range(1, num_layers):
            prev, mult = mult, min(2**n, max_mult)
            layers += [
                nn.Conv2d(base_channels * prev, base_channels * mult, 4,
                          stride=2, padding=1, bias=bias),
                norm(base_channels * mult),
                nn.LeakyReLU(0.2, inplace=True)
            ]
        prev, mult = mult, min(2**num_layers, max_mult)
        layers += [
            nn.Conv2d(base_channels * prev, base_channels * mult, 4, stride=1,
                      padding=1, bias=bias),
            norm(base_channels * mult),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(base_channels * mult, 1, 4, stride=1, padding=1)
        ]
        self.model = nn.Sequential(*layers)

    def conv_specs(self) -> List[Tuple[int, int]]:
        """(kernel size, stride) of every conv, input to output."""
        return [(m.kernel_size[0], m.stride[0]) for m in self.model
                if isinstance(m, nn.Conv2d)]

    def receptive_field(self) -> int:
        """Side length of the input patch one output logit depends on.

        Going backwards from one output pixel, a conv with kernel k and
        stride s maps a field r to ``(r - 1) * s + k``; the default
        ``num_layers=3`` gives 1 -> 4 -> 7 -> 16 -> 34 -> 70.
        """
        r = 1
        for k, s in reversed(self.conv_specs()):
            r = (r - 1) * s + k
        return r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Patch logits (B, 1, h, w) for images (B, C, H, W)."""
        self.check_input(x)
        return self.model(x)
