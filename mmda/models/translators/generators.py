"""CycleGAN ResNet generator (Zhu et al., 2017) with the upsampling variant of
Scherer et al. (2021), §4.2: every transposed convolution is replaced by a
bilinear x2 upsampling followed by a regular convolution with the same kernel
size and channel numbers, to suppress checkerboard artifacts.

Images go in and come out in ``[-1, 1]`` (RGB), as in CycleGAN (``tanh``
output).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from mmda.registry import MODELS
from ..utils import GANModule

_UPSAMPLE_MODES = ('bilinear_conv', 'deconv')


def _norm(norm_cfg: Optional[dict], channels: int) -> nn.Module:
    """Normalisation layer for ``channels`` (``nn.Identity`` if ``None``)."""
    if norm_cfg is None:
        return nn.Identity()
    return build_norm_layer(norm_cfg, channels)[1]


def _use_bias(norm_cfg: Optional[dict]) -> bool:
    # As in the CycleGAN code: no conv bias before an affine BatchNorm, a bias
    # before InstanceNorm (affine=False) or without normalisation.
    return norm_cfg is None or norm_cfg.get('type') not in ('BN', 'SyncBN',
                                                            'BN2d')


class ResnetBlock(nn.Module):
    """Residual block: (pad, conv3x3, norm, ReLU, [dropout], pad, conv3x3,
    norm) + identity.

    Args:
        channels (int): Number of input and output channels.
        norm_cfg (dict, optional): mmcv norm config (``None``: no norm).
        padding_mode (str): ``'reflect'``, ``'replicate'`` or ``'zeros'``.
        dropout (float): Dropout probability between the convs (0: none).
    """

    def __init__(self,
                 channels: int,
                 norm_cfg: Optional[dict] = dict(type='IN'),
                 padding_mode: str = 'reflect',
                 dropout: float = 0.0):
        super().__init__()
        bias = _use_bias(norm_cfg)
        layers = [
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias,
                      padding_mode=padding_mode),
            _norm(norm_cfg, channels),
            nn.ReLU(inplace=True)
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias,
                      padding_mode=padding_mode),
            _norm(norm_cfg, channels)
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


@MODELS.register_module()
class ResnetGenerator(GANModule):
    """CycleGAN ResNet generator: c7s1-C, d2C, d4C, n x R4C, u2C, uC, c7s1-3.

    Args:
        in_channels (int): Input image channels. Default: 3.
        out_channels (int): Output image channels. Default: 3.
        base_channels (int): Channels of the first conv (CycleGAN ``ngf``).
            Default: 64.
        num_blocks (int): Residual blocks. Default: 9 (the high-resolution
            variant used by Scherer et al., §4.2).
        num_down (int): Stride-2 downsampling convs (and as many upsampling
            stages). Default: 2.
        upsample_mode (str): ``'bilinear_conv'`` (Scherer et al.: bilinear x2
            upsampling + conv with the deconvolution's kernel size 3 and
            channels) or ``'deconv'`` (classic transposed conv, stride 2,
            output_padding 1). Default: ``'bilinear_conv'``.
        norm_cfg (dict, optional): mmcv norm config. Default: InstanceNorm
            without affine parameters (CycleGAN). ``None`` disables norms.
        padding_mode (str): Padding of the 7x7, residual and upsampling convs.
            Default: ``'reflect'`` (CycleGAN uses reflection padding).
        dropout (float): Dropout in residual blocks. Default: 0.
        init_std (float): Std of the normal weight init (CycleGAN: 0.02).
        init_cfg (dict, optional): mmengine init config; overrides the
            default normal init when given.

    Inputs whose height/width are not multiples of ``2 ** num_down`` are
    reflect-padded and the output is cropped back, so any image size works.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 base_channels: int = 64,
                 num_blocks: int = 9,
                 num_down: int = 2,
                 upsample_mode: str = 'bilinear_conv',
                 norm_cfg: Optional[dict] = dict(type='IN'),
                 padding_mode: str = 'reflect',
                 dropout: float = 0.0,
                 init_std: float = 0.02,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if upsample_mode not in _UPSAMPLE_MODES:
            raise ValueError(f'ResnetGenerator: upsample_mode must be one of '
                             f'{_UPSAMPLE_MODES}, got {upsample_mode!r}')
        if num_blocks < 0 or num_down < 0 or base_channels < 1:
            raise ValueError(
                'ResnetGenerator: num_blocks and num_down must be >= 0 and '
                f'base_channels >= 1, got num_blocks={num_blocks}, '
                f'num_down={num_down}, base_channels={base_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_down = num_down
        self.upsample_mode = upsample_mode
        self.init_std = init_std
        bias = _use_bias(norm_cfg)

        layers = [
            nn.Conv2d(in_channels, base_channels, 7, padding=3, bias=bias,
                      padding_mode=padding_mode),
            _norm(norm_cfg, base_channels),
            nn.ReLU(inplace=True)
        ]
        ch = base_channels
        for _ in range(num_down):
            layers += [
                nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=bias),
                _norm(norm_cfg, ch * 2),
                nn.ReLU(inplace=True)
            ]
            ch *= 2
        for _ in range(num_blocks):
            layers.append(ResnetBlock(ch, norm_cfg, padding_mode, dropout))
        for _ in range(num_down):
            if upsample_mode == 'deconv':
                layers.append(
                    nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1,
                                       output_padding=1, bias=bias))
            else:
                layers += [
                    nn.Upsample(scale_factor=2, mode='bilinear',
                                align_corners=False),
                    nn.Conv2d(ch, ch // 2, 3, padding=1, bias=bias,
                              padding_mode=padding_mode)
                ]
            layers += [_norm(norm_cfg, ch // 2), nn.ReLU(inplace=True)]
            ch //= 2
        layers += [
            nn.Conv2d(ch, out_channels, 7, padding=3,
                      padding_mode=padding_mode),
            nn.Tanh()
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate ``x`` (B, C, H, W) in [-1, 1] to (B, C_out, H, W)."""
        self.check_input(x)
        h, w = x.shape[-2:]
        m = 2**self.num_down
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            mode = 'reflect' if (pad_h < h and pad_w < w) else 'replicate'
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        out = self.model(x)
        if pad_h or pad_w:
            out = out[..., :h, :w]
        return out

