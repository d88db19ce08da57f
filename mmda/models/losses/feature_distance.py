# Copyright (c) mmda contributors. All rights reserved.
"""Thing-class ImageNet feature distance (DAFormer, Hoyer et al. CVPR 2022,
Sec. 3.3 "Thing-Class ImageNet Feature Distance", eq. 7-8).

The bottleneck features ``F_theta(x_S)`` of the student encoder on a source
image are pulled towards the features ``F_ImageNet(x_S)`` of a frozen copy of
the ImageNet-initialised encoder, with the L2 distance over the channels at
each feature-map position, averaged over the positions whose source label,
downscaled to the feature map, is a *thing* class:

    d_i = || F_ImageNet(x_S)_i - F_theta(x_S)_i ||_2
    L_FD = lambda_FD * sum_i d_i * M_i / sum_i M_i

The mask ``M`` comes from the label downscaled by the feature stride: a
feature position keeps the class that covers the largest share of its
``stride x stride`` label patch when that share is at least ``r = 0.75``,
otherwise it is ignored (the authors' ``downscale_label_ratio``); ``M_i = 1``
where the kept class is one of the thing classes (Cityscapes train ids 6, 7,
11-18: traffic light, traffic sign, person, rider, car, truck, bus, train,
motorcycle, bicycle).

Where the paper is silent the authors' code is followed (DAFormer repository,
``mmseg/models/uda/dacs.py``: ``calc_feat_dist``, ``masked_feat_dist``, and
``mmseg/utils/utils.py``: ``downscale_label_ratio``): the features are those
of the last encoder stage, ignored label pixels (255) take part in the patch
shares as their own "class", and the stride is ``label width // feature
width``. One departure: when no position is selected the authors' mean over
an empty set is NaN (with no gradient); here the loss is 0 (also with no
gradient), so the logged value stays finite.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: Cityscapes train ids of the thing classes (DAFormer, Sec. 3.3 / their
#: ``imnet_feature_dist_classes``).
CITYSCAPES_THING_CLASSES = (6, 7, 11, 12, 13, 14, 15, 16, 17, 18)


def downscale_label_ratio(label: Tensor,
                          scale_factor: int,
                          min_ratio: float,
                          num_classes: int,
                          ignore_index: int = 255) -> Tensor:
    """Downscale a label map by ``scale_factor`` with a majority vote.

    Each output position takes the class that covers the largest share of
    its ``scale_factor x scale_factor`` input patch (ignored pixels vote as
    one more class); it is ``ignore_index`` when that class is the ignored
    one or when its share is below ``min_ratio``.

    Args:
        label (Tensor): (B, 1, H, W) or (B, H, W) integer labels.
        scale_factor (int): the patch size (> 1); H and W are cropped to
            multiples of it (as ``avg_pool2d`` does).
        min_ratio (float): minimum share of the winning class, in [0, 1].
        num_classes (int): number of valid classes.
        ignore_index (int): the ignored label value.

    Returns:
        Tensor: (B, 1, H // scale_factor, W // scale_factor) long labels.
    """
    if label.dim() == 3:
        label = label[:, None]
    if label.dim() != 4 or label.shape[1] != 1:
        raise ValueError('downscale_label_ratio: label must be (B, 1, H, W) '
                         f'or (B, H, W), got {tuple(label.shape)}')
    if int(scale_factor) < 1:
        raise ValueError('downscale_label_ratio: scale_factor must be >= 1, '
                         f'got {scale_factor}')
    if not 0.0 <= float(min_ratio) <= 1.0:
        raise ValueError('downscale_label_ratio: min_ratio must be in [0, 1],'
                         f' got {min_ratio}')
    label = label.long()
    bad = (label != ignore_index) & ((label < 0) | (label >= num_classes))
    if bool(bad.any()):
        raise ValueError(
            'downscale_label_ratio: label values must be in '
            f'[0, {num_classes}) or {ignore_index}, got '
            f'{torch.unique(label[bad]).tolist()[:5]}')
    substitute = num_classes
    lab = torch.where(label == ignore_index,
                      torch.full_like(label, substitute), label)
    onehot = F.one_hot(lab[:, 0], num_classes=num_classes + 1)
    onehot = onehot.permute(0, 3, 1, 2).float()
    share = F.avg_pool2d(onehot, kernel_size=int(scale_factor))
    ratio, out = share.max(dim=1, keepdim=True)
    out = torch.where((out == substitute) | (ratio < min_ratio),
                      torch.full_like(out, ignore_index), out)
    return out


def thing_class_mask(label: Tensor,
                     feat_hw: Sequence[int],
                     thing_classes: Optional[Sequence[int]],
                     min_ratio: float,
                     num_classes: int,
                     ignore_index: int = 255) -> Tensor:
    """(B, h, w) bool mask of the feature positions used by the FD loss.

    ``thing_classes=None`` selects every position (the paper's plain
    "ImageNet FD" of Table 5, which regularises all classes).
    """
    B = label.shape[0]
    h, w = int(feat_hw[0]), int(feat_hw[1])
    if thing_classes is None:
        return torch.ones((B, h, w), dtype=torch.bool, device=label.device)
    scale = label.shape[-1] // w
    if scale < 1 or label.shape[-2] // scale != h or \
            label.shape[-1] // scale != w:
        raise ValueError(
            f'feature distance: the label ({tuple(label.shape[-2:])}) is not '
            f'an integer multiple of the feature map ({h}, {w})')
    if scale == 1:
        small = label if label.dim() == 4 else label[:, None]
        small = small.long()
    else:
        small = downscale_label_ratio(label, scale, min_ratio, num_classes,
                                      ignore_index)
    classes = torch.as_tensor(
        list(thing_classes), dtype=torch.long, device=label.device)
    return (small[:, 0, :, :, None] == classes).any(-1)


def masked_feature_distance(feat: Tensor,
                            feat_ref: Tensor,
                            mask: Optional[Tensor] = None) -> Tensor:
    """Mean over the masked positions of the channel-wise L2 distance.

    Args:
        feat (Tensor): (B, C, h, w) student features (with gradient).
        feat_ref (Tensor): (B, C, h, w) frozen ImageNet features.
        mask (Tensor, optional): (B, h, w) or (B, 1, h, w) bool positions;
            all positions when ``None``.

    Returns:
        Tensor: scalar; 0 (connected to ``feat``, zero gradient) when the
        mask selects nothing.
    """
    if feat.shape != feat_ref.shape:
        raise ValueError('masked_feature_distance: feature shapes differ: '
                         f'{tuple(feat.shape)} vs {tuple(feat_ref.shape)}')
    dist = torch.linalg.vector_norm(feat - feat_ref.detach(), ord=2, dim=1)
    if mask is None:
        return dist.mean()
    if mask.dim() == 4:
        mask = mask[:, 0]
    if tuple(mask.shape) != tuple(dist.shape):
        raise ValueError('masked_feature_distance: mask must be '
                         f'{tuple(dist.shape)}, got {tuple(mask.shape)}')
    m = mask.to(dist.dtype)
    return (dist * m).sum() / m.sum().clamp(min=1.0)
