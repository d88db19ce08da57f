# Copyright (c) mmda contributors. All rights reserved.
"""Convert the COCO-pretrained DeepLab-v2 ResNet-101 of AdaptSegNet / DACS.

Sources (same network, the Caffe DeepLab-v2 ``init.caffemodel`` ported to
PyTorch):

* AdaptSegNet ``DeepLab_resnet_pretrained_init-f81d91e8.pth``: keys prefixed
  with ``Scale.`` (the ``MS_Deeplab`` wrapper), e.g. ``Scale.conv1.weight``,
  ``Scale.layer4.2.bn3.running_mean``, ``Scale.layer5.conv2d_list.3.bias``;
* DACS / AdvSemiSeg ``resnet101COCO-41f33a49.pth``: the same keys without the
  prefix.

Output: an mmengine checkpoint (``{'state_dict': ..., 'meta': ...}``) for
``configs/_base_/models/deeplabv2_r101_coco.py``: ``backbone.*`` (mmseg ResNet
names are the checkpoint's names) and ``decode_head.aspp_convs.{i}.*`` from
``layer5.conv2d_list.{i}.*``. BatchNorm ``num_batches_tracked`` buffers absent
from these old checkpoints are added (zeros) so the result loads strictly.

Usage::

    python tools/model_converters/deeplabv2_coco.py SRC DST \
        [--num-head-convs N]

``--num-head-convs 0`` drops the (COCO/VOC-class) classifier, ``2`` keeps the
rates 6 and 12 that the AdaptSegNet / DACS forward actually uses.
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional

import torch

RESNET101_BLOCKS = (3, 4, 23, 3)
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var')
PREFIXES = ('Scale.', 'module.')
HEAD_PREFIX = 'layer5.conv2d_list.'


def expected_backbone_keys(blocks: Iterable[int] = RESNET101_BLOCKS
                           ) -> List[str]:
    """Parameter/buffer names of the DeepLab ResNet (without BN counters)."""
    keys = ['conv1.weight'] + [f'bn1.{k}' for k in BN_KEYS]
    for stage, num_blocks in enumerate(blocks, start=1):
        for b in range(num_blocks):
            p = f'layer{stage}.{b}.'
            for c in (1, 2, 3):
                keys.append(f'{p}conv{c}.weight')
                keys += [f'{p}bn{c}.{k}' for k in BN_KEYS]
            if b == 0:
                keys.append(f'{p}downsample.0.weight')
                keys += [f'{p}downsample.1.{k}' for k in BN_KEYS]
    return keys


def _short(keys: Iterable[str], limit: int = 20) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def _unwrap(obj, src: str) -> Dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ('state_dict', 'model'):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(
            isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(
            f'{src}: expected a state dict (name -> tensor), optionally under '
            f'"state_dict"/"model", got {type(obj).__name__}.')
    return obj


def convert_deeplabv2_coco(state_dict: Dict[str, torch.Tensor],
                           num_head_convs: Optional[int] = None,
                           src: str = 'checkpoint'
                           ) -> 'OrderedDict[str, torch.Tensor]':
    """Map a DeepLab-v2 ResNet-101 (AdaptSegNet/DACS layout) to mmda's.

    Args:
        state_dict (dict): Source weights (``Scale.``/``module.`` prefixes are
            stripped).
        num_head_convs (int, optional): Keep only the first N classifier convs
            (0 drops the classifier). Default: keep all.
        src (str): Name used in error messages.

    Returns:
        OrderedDict: ``backbone.*`` and ``decode_head.aspp_convs.*`` weights.

    Raises:
        ValueError: if the keys are not those of that model (missing and
            unexpected keys are listed).
    """
    sd = OrderedDict()
    for k, v in state_dict.items():
        for p in PREFIXES:
            if k.startswith(p):
                k = k[len(p):]
                break
        sd[k] = v

    backbone_keys = expected_backbone_keys()
    head_idx = sorted({
        int(k[len(HEAD_PREFIX):].split('.')[0])
        for k in sd
        if k.startswith(HEAD_PREFIX)
        and k[len(HEAD_PREFIX):].split('.')[0].isdigit()
    })
    head_keys = [
        f'{HEAD_PREFIX}{i}.{n}' for i in range(len(head_idx))
        for n in ('weight', 'bias')
    ]
    expected = set(backbone_keys) | set(head_keys)
    optional = {
        k[:-len('running_mean')] + 'num_batches_tracked'
        for k in backbone_keys if k.endswith('running_mean')
    }
    missing = expected - set(sd)
    unexpected = set(sd) - expected - optional
    if missing or unexpected:
        msg = [f'{src} is not a DeepLab-v2 ResNet-101 checkpoint of the '
               'AdaptSegNet/DACS layout (keys like "Scale.conv1.weight", '
               '"Scale.layer4.2.bn3.running_mean", '
               '"Scale.layer5.conv2d_list.3.weight").']
        if missing:
            msg.append(f'Missing keys ({len(missing)}): {_short(missing)}.')
        if unexpected:
            msg.append(
                f'Unexpected keys ({len(unexpected)}): {_short(unexpected)}.')
        raise ValueError(' '.join(msg))
    if sd['conv1.weight'].shape != (64, 3, 7, 7):
        raise ValueError(f'{src}: conv1.weight has shape '
                         f'{tuple(sd["conv1.weight"].shape)}, expected '
                         '(64, 3, 7, 7) (7x7 stem of ResNet-101).')

    n_head = len(head_idx)
    if num_head_convs is None:
        num_head_convs = n_head
    if not 0 <= num_head_convs <= n_head:
        raise ValueError(f'{src}: --num-head-convs must be in 0..{n_head} '
                         f'(the checkpoint has {n_head} classifier convs), '
                         f'got {num_head_convs}.')

    out = OrderedDict()
    for k in backbone_keys:
        out[f'backbone.{k}'] = sd[k]
        if k.endswith('running_mean'):
            cnt = k[:-len('running_mean')] + 'num_batches_tracked'
            out[f'backbone.{cnt}'] = sd.get(
                cnt, torch.tensor(0, dtype=torch.long))
    for i in range(num_head_convs):
        for n in ('weight', 'bias'):
            out[f'decode_head.aspp_convs.{i}.{n}'] = \
                sd[f'{HEAD_PREFIX}{i}.{n}']
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert the COCO-pretrained DeepLab-v2 ResNet-101 '
        'checkpoint of AdaptSegNet/DACS to mmda (deeplabv2_r101_coco.py).')
    parser.add_argument('src', help='source .pth')
    parser.add_argument('dst', help='output .pth')
    parser.add_argument(
        '--num-head-convs',
        type=int,
        default=None,
        help='keep the first N classifier convs (0: drop the classifier; '
        'default: all)')
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
    state_dict = convert_deeplabv2_coco(
        _unwrap(obj, args.src), args.num_head_convs, src=args.src)
    # a fresh clone has no checkpoints/ folder: make it (as mkdir -p)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(
        dict(
            state_dict=state_dict,
            meta=dict(
                source=osp.basename(args.src),
                converter='tools/model_converters/deeplabv2_coco.py',
                config='configs/_base_/models/deeplabv2_r101_coco.py')),
        args.dst)
    print(f'Saved {len(state_dict)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
