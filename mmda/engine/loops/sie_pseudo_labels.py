"""Pseudo-labels of "scale-invariant examples", vectorised in torch.

Subhani & Ali, *Learning from Scale-Invariant Examples for Domain Adaptation in
Semantic Segmentation*, ECCV 2020 (METHODS.md "Scale-invariant examples"; the
authors' code "LSE"). One self-training round:

1. :func:`image_class_statistics` - for every target image and class ``c``:
   the mean max-probability of the pixels predicted ``c`` (the ranking score),
   the mean *normalised* entropy of those pixels and their count.
2. :func:`select_confident_images` - per class, rank the images that contain
   ``c`` by that score, keep the top ``floor(N_c * p / C)`` (``C`` = 19
   classes) and take as class threshold the mean normalised entropy of
   class-``c`` pixels in the first image *below* the cut.
3. :func:`keep_mask` - a pixel is kept unless its normalised entropy is
   ``>=`` the threshold of its predicted class.
4. :func:`make_scale_invariant_examples` - random patches of the image, of
   its soft prediction and of the keep mask are upsampled (bilinear,
   ``align_corners=True``) to the full size; label = argmax of the upsampled
   prediction, 255 where the upsampled keep mask is exactly 0, i.e. where
   only ignored pixels contribute - the authors' ``map_ == 0`` rule. A kept
   pixel with a tiny bilinear weight (e.g. 1/1023 for a 512-wide patch
   upsampled to 1024) still keeps the label: no tolerance.

The authors loop over pixels in Python; here every step is a tensor op
(``scatter_reduce`` for per-class min/max/mean, advanced indexing for the
patch crops).
"""
import math
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

#: A class whose pixels all have the same entropy in an image cannot be
#: min-max normalised; its normalised entropy is set to 0 ("most
#: confident"), and a threshold computed from such a group is +inf (keep
#: everything). This reproduces the authors' code, where 0/0 gives NaN and
#: every comparison with NaN is False (= keep).
DEGENERATE_THRESHOLD = math.inf


def pixel_entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of per-pixel class distributions.

    Args:
        probs (Tensor): (..., C, H, W) probabilities (softmax output).

    Returns:
        Tensor: (..., H, W) entropy, ``-sum_c p_c log p_c`` (0 log 0 = 0).
    """
    return torch.special.entr(probs).sum(dim=-3)


def _normalize_groups(probs: torch.Tensor):
    """Shared work of :func:`normalized_entropy` and the statistics."""
    if probs.dim() != 4:
        raise ValueError('expected (B, C, H, W) probabilities, got shape '
                         f'{tuple(probs.shape)}')
    B, C = probs.shape[:2]
    ent = pixel_entropy(probs)
    max_prob, pred = probs.max(dim=1)
    # one group per (image, predicted class)
    group = (pred.reshape(B, -1) +
             C * torch.arange(B, device=probs.device)[:, None]).reshape(-1)
    vals = ent.reshape(-1)
    gmin = vals.new_full((B * C, ), math.inf).scatter_reduce(
        0, group, vals, reduce='amin', include_self=True)
    gmax = vals.new_full((B * C, ), -math.inf).scatter_reduce(
        0, group, vals, reduce='amax', include_self=True)
    gspan = gmax - gmin
    lo, span = gmin[group], gspan[group]
    norm = torch.where(span > 0, (vals - lo) / span.clamp_min(1e-30),
                       torch.zeros_like(vals))
    return norm.reshape(ent.shape), pred, max_prob, group, gspan


def normalized_entropy(probs: torch.Tensor
                       ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Entropy min-max normalised per image and predicted class.

    For every image ``b`` and class ``c``, the entropies of the pixels whose
    argmax is ``c`` are mapped linearly to [0, 1] (min -> 0, max -> 1), as
    the authors' ``ent_normalization``. A constant group maps to 0.

    Args:
        probs (Tensor): (B, C, H, W) probabilities.

    Returns:
        tuple[Tensor]: ``norm_entropy`` (B, H, W) float, ``pred`` (B, H, W)
        long argmax, ``max_prob`` (B, H, W) float.
    """
    norm, pred, max_prob, _, _ = _normalize_groups(probs)
    return norm, pred, max_prob


def image_class_statistics(probs: torch.Tensor,
                           normalized: Optional[tuple] = None
                           ) -> Dict[str, torch.Tensor]:
    """Per-image, per-class statistics used for selection and thresholds.

    Args:
        probs (Tensor): (B, C, H, W) probabilities.
        normalized (tuple, optional): the output of ``_normalize_groups``
            if already computed.

    Returns:
        dict: ``score`` (B, C) mean max-probability of the pixels predicted
        ``c`` (NaN if none), ``mean_norm_entropy`` (B, C) mean normalised
        entropy of those pixels (NaN if none; +inf if the group is constant,
        see :data:`DEGENERATE_THRESHOLD`), ``count`` (B, C) pixel counts.
    """
    B, C = probs.shape[:2]
    if normalized is None:
        normalized = _normalize_groups(probs)
    norm, pred, max_prob, group, gspan = normalized
    count = torch.bincount(group, minlength=B * C).reshape(B, C)
    zeros = probs.new_zeros(B * C)
    sum_p = zeros.index_add(0, group, max_prob.reshape(-1)).reshape(B, C)
    sum_ne = zeros.index_add(0, group, norm.reshape(-1)).reshape(B, C)
    degenerate = gspan.reshape(B, C) <= 0
    present = count > 0
    cnt = count.to(probs.dtype).clamp_min(1)
    nan = probs.new_tensor(math.nan)
    score = torch.where(present, sum_p / cnt, nan)
    mean_ne = torch.where(present, sum_ne / cnt, nan)
    mean_ne = torch.where(present & degenerate,
                          probs.new_tensor(DEGENERATE_THRESHOLD), mean_ne)
    return dict(score=score, mean_norm_entropy=mean_ne, count=count)


def num_selected(num_images: int, portion: float, num_classes: int) -> int:
    """``floor(N_c * p / C)`` computed exactly (no float rounding at ties).

    Args:
        num_images (int): ``N_c``, the images in which class c is predicted.
        portion (float): the round's portion ``p``.
        num_classes (int): ``C`` (19 in the paper's code, ``p/19``).
    """
    frac = Fraction(str(portion)).limit_denominator(10**9)
    return (num_images * frac.numerator) // (frac.denominator * num_classes)


def select_confident_images(
        score: torch.Tensor,
        mean_norm_entropy: torch.Tensor,
        portion: float,
        ignore_classes: Sequence[int] = (),
        default_threshold: float = 1.0,
        num_classes: Optional[int] = None) -> Dict[str, object]:
    """Class-wise selection of the most confident images and thresholds.

    For each class ``c`` (not in ``ignore_classes``): the ``N_c`` images with
    at least one pixel predicted ``c`` are sorted by ``score[:, c]``
    (descending; ties by image index), the first ``k_c = floor(N_c p / C)``
    are selected and the threshold of ``c`` is the mean normalised entropy
    of class-``c`` pixels in image number ``k_c`` of that order (the first
    one not selected), as in the authors' ``class_wise_sort``.

    Args:
        score (Tensor): (N, C) mean max-probability, NaN where absent.
        mean_norm_entropy (Tensor): (N, C) mean normalised entropy.
        portion (float): the round's ``p``.
        ignore_classes (Sequence[int]): classes that select nothing and keep
            ``default_threshold`` (the authors skip terrain, truck and train
            for SYNTHIA, ids 9, 14, 16).
        default_threshold (float): threshold of classes without images or
            ignored (the authors' initial value, 1.0).
        num_classes (int, optional): ``C`` of ``p / C``; defaults to
            ``score.shape[1]``.

    Returns:
        dict: ``selected`` (list[int], union of the per-class selections in
        class order, first occurrence kept), ``per_class`` (list[list[int]]),
        ``thresholds`` (list[float], one per class), ``num_candidates``
        (list[int], ``N_c``).
    """
    if score.dim() != 2 or score.shape != mean_norm_entropy.shape:
        raise ValueError('score and mean_norm_entropy must both be (N, C), '
                         'got '
                         f'{tuple(score.shape)} and '
                         f'{tuple(mean_norm_entropy.shape)}')
    N, C = score.shape
    if num_classes is None:
        num_classes = C
    present = ~torch.isnan(score)
    n_c = present.sum(0)
    # stable descending sort; absent images (NaN -> -inf) go last
    order = torch.sort(
        torch.where(present, score, score.new_tensor(-math.inf)),
        dim=0, descending=True, stable=True).indices  # (N, C)
    ignore = set(int(c) for c in ignore_classes)
    selected: List[int] = []
    seen = set()
    per_class: List[List[int]] = []
    thresholds: List[float] = []
    for c in range(C):  # over classes, not pixels
        nc = int(n_c[c])
        if c in ignore or nc == 0:
            per_class.append([])
            thresholds.append(float(default_threshold))
            continue
        k = num_selected(nc, portion, num_classes)
        k = min(k, nc - 1)  # the cut image must exist (p < C always holds)
        chosen = order[:k, c].tolist()
        per_class.append(chosen)
        thresholds.append(float(mean_norm_entropy[order[k, c], c]))
        for i in chosen:
            if i not in seen:
                seen.add(i)
                selected.append(i)
    return dict(selected=selected, per_class=per_class,
                thresholds=thresholds, num_candidates=n_c.tolist())


def keep_mask(norm_entropy: torch.Tensor, pred: torch.Tensor,
              thresholds: torch.Tensor) -> torch.Tensor:
    """Pixels kept as pseudo-labels: normalised entropy < class threshold.

    Args:
        norm_entropy (Tensor): (..., H, W) normalised entropy.
        pred (Tensor): (..., H, W) predicted class (long).
        thresholds (Tensor): (C, ) per-class thresholds.

    Returns:
        Tensor: bool mask, False where ``norm_entropy >= thresholds[pred]``.
    """
    return norm_entropy < thresholds.to(norm_entropy)[pred]


def sample_patch_boxes(height: int, width: int, patch_h: int, patch_w: int,
                       num: int, generator: Optional[torch.Generator] = None
                       ) -> torch.Tensor:
    """Random top-left corners of ``num`` patches inside an image.

    Args:
        height, width (int): image size.
        patch_h, patch_w (int): patch size (at most the image size).
        num (int): number of patches.
        generator (torch.Generator, optional): random source.

    Returns:
        Tensor: (num, 2) long ``(y0, x0)``, uniform in
        ``[0, H - ph] x [0, W - pw]`` (both ends included).
    """
    if patch_h > height or patch_w > width or patch_h < 1 or patch_w < 1:
        raise ValueError(f'patch_size ({patch_h}, {patch_w}) must fit in the '
                         f'image ({height}, {width}) and be positive')
    y0 = torch.randint(0, height - patch_h + 1, (num, ), generator=generator)
    x0 = torch.randint(0, width - patch_w + 1, (num, ), generator=generator)
    return torch.stack([y0, x0], dim=1)


def crop_patches(x: torch.Tensor, boxes: torch.Tensor, patch_h: int,
                 patch_w: int) -> torch.Tensor:
    """Crop ``K`` patches of a (C, H, W) tensor (one slice per patch).

    Returns:
        Tensor: (K, C, patch_h, patch_w).
    """
    return torch.stack([
        x[:, y0:y0 + patch_h, x0:x0 + patch_w]
        for y0, x0 in boxes.tolist()
    ])


def make_scale_invariant_examples(image: torch.Tensor,
                                  probs: torch.Tensor,
                                  keep: torch.Tensor,
                                  boxes: torch.Tensor,
                                  patch_size: Tuple[int, int],
                                  ignore_index: int = 255
                                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Upsample random patches and their soft predictions to full size.

    Args:
        image (Tensor): (3, H, W) image (uint8 or float, any channel order).
        probs (Tensor): (C, H, W) soft prediction of the full image.
        keep (Tensor): (H, W) bool keep mask (:func:`keep_mask`).
        boxes (Tensor): (K, 2) patch corners (:func:`sample_patch_boxes`).
        patch_size (tuple[int, int]): (ph, pw).
        ignore_index (int): label of dropped pixels. Defaults to 255.

    Returns:
        tuple[Tensor]: images (K, 3, H, W) uint8 and labels (K, H, W) uint8.
    """
    ph, pw = patch_size
    H, W = image.shape[-2:]
    if probs.shape[-2:] != (H, W) or keep.shape[-2:] != (H, W):
        raise ValueError('image, probs and keep must have the same spatial '
                         f'size, got {tuple(image.shape)}, '
                         f'{tuple(probs.shape)}, {tuple(keep.shape)}')
    size = (H, W)
    img_p = crop_patches(image.float(), boxes, ph, pw)
    prob_p = crop_patches(probs.float(), boxes, ph, pw)
    keep_p = crop_patches(keep[None].float(), boxes, ph, pw)
    if (ph, pw) != (H, W):
        img_p = F.interpolate(img_p, size=size, mode='bilinear',
                              align_corners=True)
        prob_p = F.interpolate(prob_p, size=size, mode='bilinear',
                               align_corners=True)
        keep_p = F.interpolate(keep_p, size=size, mode='bilinear',
                               align_corners=True)
    # max(dim=1).indices: same first-maximum rule as argmax, but several
    # times faster on CPU for a channel (strided) reduction
    labels = prob_p.max(dim=1).indices
    labels = torch.where(keep_p[:, 0] == 0,
                         labels.new_tensor(ignore_index), labels)
    images = img_p.round().clamp_(0, 255).to(torch.uint8)
    return images, labels.to(torch.uint8)


def pseudo_label_confusion(pred: torch.Tensor, keep: torch.Tensor,
                           gt: torch.Tensor, num_classes: int,
                           ignore_index: int = 255) -> torch.Tensor:
    """Confusion of pseudo-labels with true labels (a diagnostic).

    Args:
        pred (Tensor): (H, W) predicted class.
        keep (Tensor): (H, W) bool, the pixels kept as pseudo-labels.
        gt (Tensor): (H, W) true label, ``ignore_index`` where unlabelled.
        num_classes (int): C.
        ignore_index (int): unlabelled value of ``gt``.

    Returns:
        Tensor: (C + 1, C) int64 counts over labelled pixels. Rows 0..C-1:
        kept pixels, row = true class, column = pseudo-label. Row C: the
        dropped (not kept) pixels, ``out[C, t]`` = those of true class t.
    """
    if pred.shape != gt.shape or keep.shape != gt.shape:
        raise ValueError('pred, keep and gt must have the same shape, got '
                         f'{tuple(pred.shape)}, {tuple(keep.shape)}, '
                         f'{tuple(gt.shape)}')
    gt = gt.to(pred.device).long()
    labelled = gt != ignore_index
    bad = labelled & ((gt < 0) | (gt >= num_classes))
    if bad.any():
        raise ValueError(
            f'true labels outside [0, {num_classes}) and != {ignore_index}: '
            f'{sorted(set(gt[bad].unique().tolist()))[:10]}')
    k = labelled & keep
    cm = torch.bincount(gt[k] * num_classes + pred[k].long(),
                        minlength=num_classes**2).reshape(
                            num_classes, num_classes)
    dropped = torch.bincount(gt[labelled & ~keep], minlength=num_classes)
    return torch.cat([cm, dropped[None]]).cpu()


def pseudo_label_metrics(confusion: torch.Tensor) -> Dict[str, object]:
    """Summary of a :func:`pseudo_label_confusion` (summed over images).

    Returns:
        dict: ``acc`` (%, kept labelled pixels whose pseudo-label is right),
        ``coverage`` (%, labelled pixels kept), ``miou`` (mean IoU over the
        classes present in the true or pseudo labels of the kept pixels),
        ``per_class_iou`` (None where absent), ``pred_share`` and
        ``gt_share`` (% of kept pixels per pseudo / true class),
        ``num_pixels`` (labelled pixels compared). Undefined ratios are None
        (the values go to JSON files).
    """
    C = confusion.shape[1]
    cm = confusion[:C].double()
    dropped = confusion[C].double()
    kept = cm.sum()
    total = kept + dropped.sum()
    tp = cm.diag()
    gt_n, pred_n = cm.sum(1), cm.sum(0)
    union = gt_n + pred_n - tp
    present = union > 0
    iou = tp / union.clamp_min(1)

    def pct(a, b):
        return float(100.0 * a / b) if b > 0 else None

    return dict(
        acc=pct(tp.sum(), kept),
        coverage=pct(kept, total),
        miou=float(100.0 * iou[present].mean()) if present.any() else None,
        per_class_iou=[float(100.0 * v) if ok else None
                       for v, ok in zip(iou, present)],
        pred_share=[pct(v, kept) for v in pred_n],
        gt_share=[pct(v, kept) for v in gt_n],
        num_pixels=int(total))
