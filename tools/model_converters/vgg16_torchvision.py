# Copyright (c) mmda contributors. All rights reserved.
"""Convert torchvision's ImageNet VGG16 weights to mmda's ``VGG16`` backbone.

Key mapping (``mmda/models/backbones/vgg.py`` keeps torchvision's indices):

* ``features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}`` (the 13
  convs) -> unchanged;
* ``classifier.0`` (Linear 25088 -> 4096) -> ``fc6``, ``classifier.3``
  (Linear 4096 -> 4096) -> ``fc7``, ``classifier.6`` (the 1000 ImageNet
  classes) is dropped. With ``--fc``:

  - ``fcn``: the fully connected layers become convolutions (FCN, Long et al.
    2015, Sec. 3.1): fc6 = 7x7 conv with 4096 filters, fc7 = 1x1 conv
    (``configs/_base_/models/fcn8s_vgg16.py``);
  - ``deeplab``: DeepLab-LargeFOV's decimation (Chen et al., ICLR 2015,
    Sec. 3.1 and 4.1; how their ``vgg16_20M`` init was made): every 4th filter
    (4096 -> 1024) and every 3rd spatial tap of fc6 (7x7 -> 3x3), every 4th
    row and column of fc7 (``configs/_base_/models/deeplabv2_vgg16.py``);
  - ``none``: features only (fc6/fc7 keep their random init).

The output holds backbone keys (no ``backbone.`` prefix) for the backbone's
``init_cfg=dict(type='Pretrained', checkpoint=...)``.

Usage::

    python tools/model_converters/vgg16_torchvision.py vgg16-397923af.pth \
        checkpoints/vgg16_deeplab_largefov_mmda.pth --fc deeplab
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict

import torch

CONV_IDX = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
FC_MODES = ('fcn', 'deeplab', 'none')


def _short(keys, limit: int = 20) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def convert_vgg16_torchvision(state_dict: Dict[str, torch.Tensor],
                              fc: str = 'deeplab',
                              src: str = 'checkpoint'
                              ) -> 'OrderedDict[str, torch.Tensor]':
    """Map a torchvision ``vgg16`` state dict to mmda's ``VGG16`` backbone.

    Args:
        state_dict (dict): ``torchvision.models.vgg16().state_dict()`` layout.
        fc (str): ``'fcn'``, ``'deeplab'`` or ``'none'`` (see module doc).
        src (str): Name used in error messages.

    Returns:
        OrderedDict: Backbone weights.

    Raises:
        ValueError: for another layout (missing/unexpected keys listed) or an
            unknown ``fc`` mode.
    """
    if fc not in FC_MODES:
        raise ValueError(f'fc must be one of {FC_MODES}, got {fc!r}.')
    sd = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                     for k, v in state_dict.items())
    conv_keys = [f'features.{i}.{n}' for i in CONV_IDX
                 for n in ('weight', 'bias')]
    fc_keys = [f'classifier.{i}.{n}' for i in (0, 3, 6)
               for n in ('weight', 'bias')]
    required = set(conv_keys)
    if fc != 'none':
        required |= set(fc_keys[:4])
    missing = required - set(sd)
    unexpected = set(sd) - set(conv_keys) - set(fc_keys)
    if missing or unexpected:
        msg = [f'{src} is not a torchvision VGG16 state dict (keys '
               '"features.{0,2,5,...,28}.weight/bias" and '
               '"classifier.{0,3,6}.weight/bias").']
        if missing:
            msg.append(f'Missing keys ({len(missing)}): {_short(missing)}.')
        if unexpected:
            hint = ' (batch-norm keys: vgg16_bn is not supported)' if any(
                'running_mean' in k for k in unexpected) else ''
            msg.append(f'Unexpected keys ({len(unexpected)}): '
                       f'{_short(unexpected)}{hint}.')
        raise ValueError(' '.join(msg))
    if tuple(sd['features.28.weight'].shape) != (512, 512, 3, 3):
        raise ValueError(
            f'{src}: features.28.weight has shape '
            f'{tuple(sd["features.28.weight"].shape)}, expected (512, 512, 3, '
            '3) (conv5_3 of VGG16).')

    out = OrderedDict((k, sd[k]) for k in conv_keys)
    if fc == 'none':
        return out
    w6, b6 = sd['classifier.0.weight'], sd['classifier.0.bias']
    w7, b7 = sd['classifier.3.weight'], sd['classifier.3.bias']
    if tuple(w6.shape) != (4096, 512 * 7 * 7) or tuple(w7.shape) != (4096,
                                                                     4096):
        raise ValueError(
            f'{src}: classifier.0.weight / classifier.3.weight have shapes '
            f'{tuple(w6.shape)} / {tuple(w7.shape)}, expected (4096, 25088) / '
            '(4096, 4096).')
    # torchvision flattens pool5 (N, 512, 7, 7) in C, H, W order.
    w6 = w6.reshape(4096, 512, 7, 7)
    w7 = w7.reshape(4096, 4096, 1, 1)
    if fc == 'deeplab':
        w6, b6 = w6[::4, :, ::3, ::3], b6[::4]
        w7, b7 = w7[::4, ::4], b7[::4]
    out['fc6.weight'] = w6.contiguous()
    out['fc6.bias'] = b6.contiguous()
    out['fc7.weight'] = w7.contiguous()
    out['fc7.bias'] = b7.contiguous()
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert torchvision ImageNet VGG16 weights to the mmda '
        'VGG16 backbone.')
    parser.add_argument('src', help='torchvision vgg16 .pth (local file)')
    parser.add_argument('dst', help='output .pth')
    parser.add_argument(
        '--fc',
        choices=FC_MODES,
        default='deeplab',
        help='fc6/fc7 conversion: "deeplab" (LargeFOV, decimated 1024 '
        'channels), "fcn" (7x7/4096), "none" (features only)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'{args.src}: no such checkpoint file.')
    try:
        obj = torch.load(args.src, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with context
        raise ValueError(f'{args.src}: cannot be read as a PyTorch state '
                         f'dict ({type(e).__name__}: {e}).') from e
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        obj = obj['state_dict']
    if not isinstance(obj, dict):
        raise ValueError(f'{args.src}: expected a state dict, got '
                         f'{type(obj).__name__}.')
    state_dict = convert_vgg16_torchvision(obj, args.fc, src=args.src)
    # a fresh clone has no checkpoints/ folder: make it (as mkdir -p)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(
                source=osp.basename(args.src),
                fc=args.fc,
                converter='tools/model_converters/vgg16_torchvision.py')),
        args.dst)
    print(f'Saved {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
