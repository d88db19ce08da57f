"""Selection math of self-training with scale-invariant examples (SIE).

Subhani & Ali, *Learning from Scale-Invariant Examples for Domain Adaptation in
Semantic Segmentation*, ECCV 2020 (docs/methods.md#scale-invariant-examples;
the authors' code "LSE"). Pure tensor functions, one self-training round:

1. :func:`image_class_statistics` - for every target image and class ``c``:
   the mean max-probability of the pixels predicted ``c`` (the ranking score),
   the mean *normalised* entropy of those pixels and their count.
2. :func:`select_confident_images` - per class, rank the images that contain
   ``c`` by that score, keep the top ``floor(N_c * p / C)`` (``C`` = 19
   classes) and take as class threshold the mean normalised entropy of
   class-``c`` pixels in the first image *below* the cut.
3. :func:`keep_mask` - a pixel is kept unless its normalised entropy is
   ``>=`` the threshold of its predicted class.

The patches and their labels (step 4) are in
:mod:`mmda.models.uda.sie_patches`.
The authors loop over pixels in Python; here every step is a tensor op
(``scatter_reduce`` for per-class min/max/mean). :func:`pseudo_label_confusion`
and :func:`pseudo_label_metrics` compare pseudo-labels with true labels (a
diagnostic that never reaches training).
"""
import math
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple

import torch

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
    # one vectorised log pass (torch.special.entr is a scalar loop, 3x
    # slower on CPU); p = 0 gives 0 * -inf = NaN, and only those (rare)
    # pixels are recomputed with 0 log 0 = 0
    ent = probs.log().mul_(probs).sum(dim=-3).neg_()
    bad = torch.isnan(ent)
    if bad.any():
        p = probs.movedim(-3, -1)[bad]  # (N, C)
        ent[bad] = -(p * p.clamp_min(torch.finfo(p.dtype).tiny).log()).sum(-1)
    return ent


def max_argmax(probs: torch.Tensor, dim: int):
    """``probs.max(dim)`` (values, first index of the maximum), faster.

    torch's CPU ``max`` with indices over a strided channel dimension runs
    at a fraction of ``amax``'s speed; the first maximal index is recovered
    as ``C - 1 - max_c((p_c == max) * (C - 1 - c))`` in uint8.
    """
    C = probs.shape[dim]
    if C > 256:
        return probs.max(dim=dim)
    values = probs.amax(dim=dim, keepdim=True)
    shape = [1] * probs.dim()
    shape[dim] = C
    rank = torch.arange(C - 1, -1, -1, dtype=torch.uint8,
                        device=probs.device).view(shape)
    first = (probs == values).to(torch.uint8).mul_(rank).amax(dim=dim)
    return values.squeeze(dim), (C - 1) - first.long()


#: elements of ``probs`` per block of :func:`entropy_max_argmax` (8 MB of
#: float32 temporaries at most, which stay in the CPU's cache)
_BLOCK_ELEMENTS = 2**19
_ALIGN = 256


def entropy_max_argmax(probs: torch.Tensor
                       ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`pixel_entropy` and :func:`max_argmax` over the classes of
    (B, C, H, W) probabilities in one pass, block of rows by block of rows.

    The same element-wise operations as the two functions, so the same
    values bit for bit; the temporaries of a block stay in the cache instead
    of three full-size ones (the whole map was read three times and written
    twice).

    Returns:
        tuple[Tensor]: entropy (B, H, W), max probability (B, H, W), first
        class of the maximum (B, H, W) long.
    """
    B, C, H, W = probs.shape
    if C > 256:
        max_prob, pred = probs.max(dim=1)
        return pixel_entropy(probs), max_prob, pred
    ent = probs.new_empty((B, H, W))
    max_prob = probs.new_empty((B, H, W))
    first = torch.empty((B, H, W), dtype=torch.uint8, device=probs.device)
    rank = torch.arange(C - 1, -1, -1, dtype=torch.uint8,
                        device=probs.device).view(1, C, 1, 1)
    # blocks of whole rows that start at a multiple of 256 pixels, so that
    # the vectorised reduction over the classes groups the pixels as it
    # does on the whole map (the same float sums)
    step = _ALIGN // math.gcd(W, _ALIGN)
    rows = max(step, _BLOCK_ELEMENTS // max(B * C * W * step, 1) * step)
    for y in range(0, H, rows):
        p = probs[:, :, y:y + rows]
        torch.sum(p.log().mul_(p), dim=1, out=ent[:, y:y + rows])
        values = p.amax(dim=1, keepdim=True)
        max_prob[:, y:y + rows] = values[:, 0]
        torch.amax((p == values).to(torch.uint8).mul_(rank), dim=1,
                   out=first[:, y:y + rows])
    ent.neg_()
    bad = torch.isnan(ent)  # 0 log 0, see pixel_entropy
    if bad.any():
        q = probs.movedim(1, -1)[bad]  # (N, C)
        ent[bad] = -(q * q.clamp_min(torch.finfo(q.dtype).tiny).log()).sum(-1)
    return ent, max_prob, (C - 1) - first.long()


def normalize_groups(probs: torch.Tensor):
    """Shared work of :func:`normalized_entropy` and the statistics."""
    if probs.dim() != 4:
        raise ValueError('expected (B, C, H, W) probabilities, got shape '
                         f'{tuple(probs.shape)}')
    B, C = probs.shape[:2]
    ent, max_prob, pred = entropy_max_argmax(probs)
    # one group per (image, predicted class)
    group = (pred.reshape(B, -1) +
             C * torch.arange(B, device=probs.device)[:, None]).reshape(-1)
    vals = ent.reshape(-1)
    gmin = vals.new_full((B * C, ), math.inf).scatter_reduce(
        0, group, vals, reduce='amin', include_self=True)
    gmax = vals.new_full((B * C, ), -math.inf).scatter_reduce(
        0, group, vals, reduce='amax', include_self=True)
    gspan = gmax - gmin
    lo, span = gmin.index_select(0, group), gspan.index_select(0, group)
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
    norm, pred, max_prob, _, _ = normalize_groups(probs)
    return norm, pred, max_prob


def image_class_statistics(probs: torch.Tensor,
                           normalized: Optional[tuple] = None
                           ) -> Dict[str, torch.Tensor]:
    """Per-image, per-class statistics used for selection and thresholds.

    Args:
        probs (Tensor): (B, C, H, W) probabilities.
        normalized (tuple, optional): the output of ``normalize_groups``
            if already computed.

    Returns:
        dict: ``score`` (B, C) mean max-probability of the pixels predicted
        ``c`` (NaN if none), ``mean_norm_entropy`` (B, C) mean normalised
        entropy of those pixels (NaN if none; +inf if the group is constant,
        see :data:`DEGENERATE_THRESHOLD`), ``count`` (B, C) pixel counts.
    """
    B, C = probs.shape[:2]
    if normalized is None:
        normalized = normalize_groups(probs)
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
    th = thresholds.to(norm_entropy).index_select(0, pred.reshape(-1))
    return norm_entropy < th.view_as(pred)


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
