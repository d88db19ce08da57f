"""VGG19 feature (content) loss of Scherer et al. (2021), eq. (10), used by
the CycleGAN translator."""
import os.path as osp
import re
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmda.registry import MODELS

# torchvision ``vgg19`` feature configuration ("E"): conv widths, 'M' = pool.
VGG19_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512,
             512, 512, 'M', 512, 512, 512, 512, 'M')
IMAGENET_MEAN_01 = (0.485, 0.456, 0.406)
IMAGENET_STD_01 = (0.229, 0.224, 0.225)


def make_vgg_layers(cfg: Sequence[Union[int, str]],
                    in_channels: int = 3) -> nn.Sequential:
    """torchvision's ``vgg.make_layers`` (no BatchNorm): the module indices
    match ``torchvision.models.vgg19().features`` for ``VGG19_CFG``."""
    layers: List[nn.Module] = []
    for v in cfg:
        if v == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, int(v), 3, padding=1),
                       nn.ReLU(inplace=True)]
            in_channels = int(v)
    return nn.Sequential(*layers)


def vgg_layer_index(cfg: Sequence[Union[int, str]], layer: Union[str,
                                                                 int]) -> int:
    """Index in ``features`` whose output is used for ``layer``.

    Names: ``'block{b}_conv{c}'`` (Keras naming, as in the paper: the conv
    layer *with* its ReLU, i.e. the ReLU's output), ``'relu{b}_{c}'`` (the
    same) and ``'conv{b}_{c}'`` (the conv's output before the ReLU). An int
    is a raw index into ``features``. ``block5_conv2`` of VGG19 -> 31.
    """
    if isinstance(layer, int):
        n = sum(1 if v == 'M' else 2 for v in cfg)
        if not 0 <= layer < n:
            raise ValueError(f'VGG layer index {layer} out of range [0, {n})')
        return layer
    m = re.fullmatch(r'block(\d+)_conv(\d+)|(relu|conv)(\d+)_(\d+)', layer)
    if m is None:
        raise ValueError(
            f"VGG layer {layer!r}: expected 'block<b>_conv<c>', "
            "'relu<b>_<c>', 'conv<b>_<c>' or an int index")
    if m.group(1) is not None:
        block, conv, post_relu = int(m.group(1)), int(m.group(2)), True
    else:
        block, conv = int(m.group(4)), int(m.group(5))
        post_relu = m.group(3) == 'relu'
    idx, b, c = 0, 1, 0
    for v in cfg:
        if v == 'M':
            b, c = b + 1, 0
            idx += 1
            continue
        c += 1
        if (b, c) == (block, conv):
            return idx + 1 if post_relu else idx
        idx += 2
    raise ValueError(f'VGG layer {layer!r} does not exist in cfg {list(cfg)}')


def load_vgg_features(features: nn.Sequential, path: str) -> None:
    """Load torchvision VGG weights from a local file into a (truncated)
    ``features`` stack. Accepts a full torchvision state dict
    (``features.N.weight``, classifier keys ignored), a ``features`` state
    dict (``N.weight``) or either wrapped in ``{'state_dict': ...}``."""
    if not osp.isfile(path):
        from mmda.utils.weights import missing_message
        raise FileNotFoundError(
            f'vgg_checkpoint {path!r} does not exist: expected a local '
            'torchvision VGG19 state dict (e.g. vgg19-dcbb9e9d.pth); nothing '
            'is downloaded at run time. ' + missing_message(
                path, 'model.feature_loss.vgg_checkpoint'))
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        raise TypeError(f'vgg_checkpoint {path!r}: expected a state dict, '
                        f'got {type(ckpt).__name__}')
    state = {}
    for k, v in ckpt.items():
        k = k[len('module.'):] if k.startswith('module.') else k
        if k.startswith('features.'):
            state[k[len('features.'):]] = v
        elif re.match(r'\d+\.', k):
            state[k] = v
    own = features.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise KeyError(f'vgg_checkpoint {path!r} lacks VGG feature weights '
                       f'{missing[:6]}{"..." if len(missing) > 6 else ""} '
                       '(expected torchvision layout features.<idx>.weight)')
    bad = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in own.items()
           if state[k].shape != v.shape]
    if bad:
        raise ValueError(f'vgg_checkpoint {path!r}: shape mismatch '
                         f'(key, file, model): {bad[:4]}')
    features.load_state_dict({k: state[k] for k in own}, strict=True)


@MODELS.register_module()
class VGGFeatureLoss(nn.Module):
    """Feature (content) loss ``w * ||VGG(x) - VGG(G(x))||^2`` (Scherer et
    al., 2021, eq. 10) with a frozen VGG in eval mode.

    Images come in CycleGAN range ``[-1, 1]`` (RGB) and are mapped to
    ImageNet-normalised [0, 1] RGB before the VGG.

    The frozen VGG is deliberately *not* a registered submodule: it is kept
    out of ``state_dict()`` (it is fixed, reloaded from ``vgg_checkpoint``,
    and would add ~80 MB to every checkpoint), out of ``parameters()`` (no
    optimizer or DDP wrapper sees it) while ``.to()``/``.cuda()`` still move
    it (see :meth:`_apply`).

    Args:
        layer (str | int): Feature layer (see :func:`vgg_layer_index`).
            Default: ``'block5_conv2'`` (§4.2: "we utilize the block5 conv2
            layer of the VGG-19 architecture"; Keras naming = after ReLU).
        vgg_checkpoint (str, optional): Local torchvision VGG19 weights
            (``torchvision.models.vgg19(weights='IMAGENET1K_V1')``'s file).
            ``None`` keeps a random init (tests / toy runs only).
        arch (sequence, optional): VGG cfg; default torchvision VGG19 "E".
            Tests pass a tiny cfg like ``(4, 'M', 8)``.
        loss_weight (float): λ_feature. The paper does not report its value;
            default 1.0 with ``reduction='mean'``.
        reduction (str): ``'mean'`` (mean squared error over all feature
            elements) or ``'sum'`` (the literal squared L2 norm, summed over
            elements and averaged over the batch). Default: ``'mean'``.
        input_range (tuple): Value range of the images. Default: (-1, 1).
    """

    def __init__(self,
                 layer: Union[str, int] = 'block5_conv2',
                 vgg_checkpoint: Optional[str] = None,
                 arch: Optional[Sequence[Union[int, str]]] = None,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 input_range: Sequence[float] = (-1.0, 1.0)):
        super().__init__()
        if reduction not in ('mean', 'sum'):
            raise ValueError("VGGFeatureLoss: reduction must be 'mean' or "
                             f"'sum', got {reduction!r}")
        cfg = tuple(VGG19_CFG if arch is None else arch)
        self.layer_index = vgg_layer_index(cfg, layer)
        features = make_vgg_layers(cfg)[:self.layer_index + 1]
        if vgg_checkpoint is not None:
            load_vgg_features(features, vgg_checkpoint)
        features.eval()
        features.requires_grad_(False)
        # Hidden from nn.Module bookkeeping on purpose (see class docstring).
        object.__setattr__(self, '_vgg', features)
        self.loss_weight = float(loss_weight)
        self.reduction = reduction
        lo, hi = float(input_range[0]), float(input_range[1])
        self.input_range = (lo, hi)
        # (x - lo) / (hi - lo) -> [0, 1]; then (v - mean) / std.
        mean = torch.tensor(IMAGENET_MEAN_01).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD_01).view(1, 3, 1, 1)
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('std', std, persistent=False)

    @property
    def vgg(self) -> nn.Sequential:
        """The frozen, truncated VGG feature stack."""
        return self._vgg

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self._vgg._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True):
        """The VGG stays in eval mode whatever the parent's mode."""
        super().train(mode)
        self._vgg.eval()
        return self

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """VGG features of images in ``input_range``."""
        lo, hi = self.input_range
        x = (img - lo) / (hi - lo)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return self._vgg(x)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """``loss_weight * ||VGG(real) - VGG(fake)||^2``; gradients flow into
        ``fake`` only (the VGG and ``real`` get none)."""
        with torch.no_grad():
            target = self.features(real)
        feat = self.features(fake)
        if self.reduction == 'mean':
            loss = F.mse_loss(feat, target)
        else:
            loss = (feat - target).pow(2).sum() / feat.shape[0]
        return self.loss_weight * loss
