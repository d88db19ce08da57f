"""Pseudo-labels of "scale-invariant examples", vectorised in torch.

Subhani & Ali, *Learning from Scale-Invariant Examples for Domain Adaptation in
Semantic Segmentation*, ECCV 2020 (and the authors' code "LSE"). One
self-training round:

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
patch crops), and the labels of step 4 are computed without upsampling the
C channels (:func:`upsampled_patch_labels`: a 2x2 source cell whose corners
all prefer one class keeps it; only pixels near class boundaries are
interpolated, in float64, so the labels do not depend on the CPU's float32
vector path). ``docs/performance.md`` has the measured speed.
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
    # one vectorised log pass (torch.special.entr is a scalar loop, 3x
    # slower on CPU); p = 0 gives 0 * -inf = NaN, and only those (rare)
    # pixels are recomputed with 0 log 0 = 0
    ent = probs.log().mul_(probs).sum(dim=-3).neg_()
    bad = torch.isnan(ent)
    if bad.any():
        p = probs.movedim(-3, -1)[bad]  # (N, C)
        ent[bad] = -(p * p.clamp_min(torch.finfo(p.dtype).tiny).log()).sum(-1)
    return ent


def _max_argmax(probs: torch.Tensor, dim: int):
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


def _normalize_groups(probs: torch.Tensor):
    """Shared work of :func:`normalized_entropy` and the statistics."""
    if probs.dim() != 4:
        raise ValueError('expected (B, C, H, W) probabilities, got shape '
                         f'{tuple(probs.shape)}')
    B, C = probs.shape[:2]
    ent = pixel_entropy(probs)
    max_prob, pred = _max_argmax(probs, 1)
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
    th = thresholds.to(norm_entropy).index_select(0, pred.reshape(-1))
    return norm_entropy < th.view_as(pred)


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


def bilinear_source_weights(in_size: int, out_size: int,
                            device=None) -> Tuple[torch.Tensor, ...]:
    """Source indices and weights of a 1-D ``align_corners=True`` resize.

    The same float32 arithmetic as torch's CPU ``F.interpolate``
    (``scale = float(in - 1) / (out - 1)``, ``src = scale * i``,
    ``i0 = floor(src)``, ``lambda = src - i0``, ``i1 = min(i0 + 1, in - 1)``),
    so that a weight is exactly 0 where torch's is (checked against
    ``F.interpolate`` in the tests).

    Returns:
        tuple[Tensor]: ``i0``, ``i1`` (out_size, ) long and their weights
        ``w0 = 1 - lambda``, ``w1 = lambda`` (out_size, ) float32.
    """
    if out_size > 1:
        scale = torch.tensor(float(in_size - 1), dtype=torch.float32,
                             device=device) / float(out_size - 1)
    else:
        scale = torch.zeros((), dtype=torch.float32, device=device)
    src = torch.arange(out_size, dtype=torch.float32, device=device) * scale
    i0 = src.long()  # src >= 0: truncation is floor
    w1 = (src - i0.to(torch.float32)).clamp_(0, 1)
    i1 = torch.where(i0 < in_size - 1, i0 + 1, i0)
    return i0, i1, 1 - w1, w1


#: Relative and absolute margins of the "the upsampled argmax is the
#: corners' common class" test of :func:`upsampled_patch_labels`. They
#: cover float32 rounding of the class sum and of the weights (1 - lambda is
#: rounded) with a wide safety factor; a cell failing the test is evaluated
#: exactly, so the margins only decide how much work is exact.
_CELL_REL_MARGIN = 1e-6
_CELL_ABS_MARGIN = 1e-5


def _cell_labels(pred: torch.Tensor, max_prob: torch.Tensor,
                 prob_sum: torch.Tensor) -> torch.Tensor:
    """Class of every 2x2 cell of pixels whose bilinear argmax is known.

    Cell ``(y, x)`` holds pixels ``(y..y+1, x..x+1)``. Any bilinear sample
    inside the cell is a convex combination of its 4 corner distributions,
    so if all corners predict ``d`` and every other class is below ``p_d``
    at every corner (bounded by ``sum - p_d``, as probabilities are
    non-negative), the sample's argmax is ``d`` too. Cells of the last row
    and column are left open (:func:`_cell_candidates` handles them).

    Returns:
        Tensor: (H, W) int16, the class, or -1 where it must be computed.
    """
    H, W = pred.shape
    cell = torch.full((H, W), -1, dtype=torch.int16, device=pred.device)
    if H < 2 or W < 2:
        return cell
    p, m = pred, max_prob
    other = prob_sum - m  # >= every other class of the pixel
    eq_x = p[:, :-1] == p[:, 1:]
    same = eq_x[:-1] & eq_x[1:] & (p[:-1, :-1] == p[1:, :-1])
    m_x = torch.minimum(m[:, :-1], m[:, 1:])
    m_min = torch.minimum(m_x[:-1], m_x[1:])
    o_x = torch.maximum(other[:, :-1], other[:, 1:])
    o_max = torch.maximum(o_x[:-1], o_x[1:])
    known = same & (o_max + _CELL_ABS_MARGIN * float(prob_sum.max()) <
                    m_min * (1 - _CELL_REL_MARGIN))
    cell[:-1, :-1] = torch.where(known, p[:-1, :-1].to(torch.int16),
                                 cell[:-1, :-1])
    return cell


def _cell_candidates(probs: torch.Tensor, cell: torch.Tensor
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Resolve the cells :func:`_cell_labels` left open, with all classes.

    For an open cell, ``L = max_c min_corners p_c`` bounds the winning
    sample value from below, so only classes with ``max_corners p_c >= L``
    (with :data:`_CELL_REL_MARGIN`) can win anywhere in the cell. Most open
    cells lie on a boundary between two classes and have exactly two
    candidates ``d < e``: there the label is ``e`` iff ``v_e > v_d``.

    Returns:
        tuple[Tensor]: ``cell`` (H, W) int16 updated: class, -1 (two
        candidates, stored in ``first`` and ``second`` (H, W) int16) or -2
        (three or more: evaluate every class).
    """
    C, H, W = probs.shape
    first = torch.zeros_like(cell)
    second = torch.zeros_like(cell)
    cy, cx = (cell < 0).nonzero(as_tuple=True)
    if cy.numel() == 0:
        return cell, first, second
    flat = probs.reshape(C, H * W)
    y1 = (cy + 1).clamp_(max=H - 1)
    x1 = (cx + 1).clamp_(max=W - 1)
    N = cy.numel()
    corners = flat.index_select(1, torch.cat([
        r * W + q for r, q in ((cy, cx), (cy, x1), (y1, cx), (y1, x1))
    ])).view(C, 4, N)
    low = corners.amin(1).amax(0)  # (N, )
    cand = corners.amax(1) >= low * (1 - _CELL_REL_MARGIN)  # (C, N)
    n = cand.sum(0)
    cls = torch.arange(C, dtype=torch.int16, device=cell.device)[:, None]
    none = torch.tensor(C, dtype=torch.int16, device=cell.device)
    d = torch.where(cand, cls, none).amin(0)  # first candidate
    e = torch.where(cand & (cls != d), cls, none).amin(0)  # second
    code = torch.where(n == 1, d, torch.where(n == 2, -1, -2).to(d))
    flat_cells = cy * W + cx
    cell = cell.clone()
    cell.view(-1)[flat_cells] = code
    first.view(-1)[flat_cells] = d
    second.view(-1)[flat_cells] = e
    return cell, first, second


def _or_weighted(k: torch.Tensor, dim: int, i0: torch.Tensor,
                 i1: torch.Tensor, z0: torch.Tensor, z1: torch.Tensor
                 ) -> torch.Tensor:
    """``(k[i0] & w0 != 0) | (k[i1] & w1 != 0)`` along ``dim``.

    ``z0`` / ``z1``: the (few) output positions where ``w0`` / ``w1`` is
    exactly 0; everywhere else both source pixels count.
    """
    a = k.index_select(dim, i0)
    out = a | k.index_select(dim, i1)
    if z1.numel():  # only i0 contributes there
        out.index_copy_(dim, z1, a.index_select(dim, z1))
    if z0.numel():  # only i1 contributes there (w0 = 1 - lambda > 0 in
        # practice; kept for completeness)
        out.index_copy_(dim, z0, k.index_select(dim, i1.index_select(0, z0)))
    return out


def upsampled_patch_labels(probs: torch.Tensor,
                           keep: torch.Tensor,
                           boxes: torch.Tensor,
                           patch_size: Tuple[int, int],
                           ignore_index: int = 255,
                           top: Optional[Tuple[torch.Tensor,
                                               torch.Tensor]] = None
                           ) -> torch.Tensor:
    """Labels of patches upsampled to the full size, without upsampling.

    Equal to: upsample each patch of the soft prediction bilinearly
    (``align_corners=True``) to (H, W) in float64, take the argmax (first
    maximum), and set ``ignore_index`` where the upsampled keep mask is
    exactly 0 (:func:`reference_patch_labels` does exactly that, pixel by
    pixel). The C upsampled channels are never materialised: a pixel whose
    2x2 source cell is confidently one class (:func:`_cell_labels`) takes
    that class; on a two-class boundary (:func:`_cell_candidates`) only
    those two classes are interpolated; only the rare pixels with three or
    more candidate classes interpolate every class. The keep rule is
    evaluated as "some corner with a non-zero torch bilinear weight is
    kept" (:func:`bilinear_source_weights`).

    Args:
        probs (Tensor): (C, H, W) non-negative soft prediction.
        keep (Tensor): (H, W) bool keep mask.
        boxes (Tensor): (K, 2) patch corners ``(y0, x0)``.
        patch_size (tuple[int, int]): (ph, pw).
        ignore_index (int): label of dropped pixels.
        top (tuple[Tensor], optional): ``(pred, max_prob)`` (H, W) if
            already computed (e.g. by :func:`normalized_entropy`).

    Returns:
        Tensor: (K, H, W) int16 labels.
    """
    C, H, W = probs.shape
    ph, pw = patch_size
    if not bool(probs.amin() >= 0):  # also catches NaN
        raise ValueError('upsampled_patch_labels: probs must be non-negative '
                         '(softmax probabilities), got a minimum of '
                         f'{float(probs.amin())}')
    if top is None:
        max_prob, pred = _max_argmax(probs, 0)
    else:
        pred, max_prob = top
    cell = _cell_labels(pred, max_prob, probs.sum(0))
    cell, first, second = _cell_candidates(probs, cell)
    flat = probs.reshape(-1)  # class c, pixel q at c * H * W + q
    dev = probs.device
    iy0, iy1, hy0, hy1 = bilinear_source_weights(ph, H, dev)
    jx0, jx1, wx0, wx1 = bilinear_source_weights(pw, W, dev)
    hy0d, hy1d, wx0d, wx1d = (t.double() for t in (hy0, hy1, wx0, wx1))

    def corners(pos, y0, x0):
        """Flat source pixels and float64 weights of the output pixels
        ``pos`` (flat) of the patch at (y0, x0)."""
        i, j = pos // W, pos % W
        r0 = (iy0.take(i) + y0) * W
        r1 = (iy1.take(i) + y0) * W
        c0, c1 = jx0.take(j) + x0, jx1.take(j) + x0
        return ((r0 + c0, r0 + c1, r1 + c0, r1 + c1),
                (hy0d.take(i), hy1d.take(i), wx0d.take(j), wx1d.take(j)))

    def sample(cls, idx, wts):
        """float64 bilinear value of class ``cls`` (broadcastable)."""
        base = cls * (H * W)
        a, b, c, d = (flat.take(base + q).double() for q in idx)
        h0, h1, w0, w1 = wts
        return h0 * (w0 * a + w1 * b) + h1 * (w0 * c + w1 * d)

    # output rows/columns where one of the two source weights is exactly 0
    zy0, zy1, zx0, zx1 = ((w == 0).nonzero().squeeze(1)
                          for w in (hy0, hy1, wx0, wx1))
    out = []
    cells = cell.view(-1)
    for y0, x0 in boxes.tolist():
        # cell of every output pixel, as a flat index into (H, W)
        q_all = ((iy0 + y0) * W)[:, None] + (jx0 + x0)[None, :]
        lab = cells.take(q_all)
        pos = (lab.view(-1) < 0).nonzero().squeeze(1)
        if pos.numel():
            code = lab.view(-1)[pos]
            many = code == -2
            p2 = pos[~many]
            if p2.numel():  # two candidates d < e: e wins iff v_e > v_d
                q = q_all.view(-1)[p2]
                d = first.view(-1)[q].long()
                e = second.view(-1)[q].long()
                idx, wts = corners(p2, y0, x0)
                lab.view(-1)[p2] = torch.where(
                    sample(e, idx, wts) > sample(d, idx, wts), e, d).to(lab)
            p3 = pos[many]
            if p3.numel():  # every class; argmax keeps the first maximum
                cls = torch.arange(C, device=dev)[:, None]
                idx, wts = corners(p3, y0, x0)
                lab.view(-1)[p3] = sample(cls, idx, wts).argmax(dim=0).to(
                    lab)
        # kept where a kept corner has a non-zero weight (separable)
        k = keep[y0:y0 + ph, x0:x0 + pw]
        kx = _or_weighted(k, 1, jx0, jx1, zx0, zx1)
        kept = _or_weighted(kx, 0, iy0, iy1, zy0, zy1)
        out.append(lab.masked_fill_(~kept, ignore_index))
    return torch.stack(out)


def reference_patch_labels(probs: torch.Tensor, keep: torch.Tensor,
                           boxes: torch.Tensor, patch_size: Tuple[int, int],
                           ignore_index: int = 255) -> torch.Tensor:
    """The definition :func:`upsampled_patch_labels` computes, pixel by
    pixel in Python (slow: for tests on small maps).

    Returns:
        Tensor: (K, H, W) int16 labels.
    """
    C, H, W = probs.shape
    ph, pw = patch_size
    iy0, iy1, hy0, hy1 = (t.tolist()
                          for t in bilinear_source_weights(ph, H))
    jx0, jx1, wx0, wx1 = (t.tolist()
                          for t in bilinear_source_weights(pw, W))
    p = probs.double().permute(1, 2, 0).tolist()  # [y][x][c]
    kp = keep.tolist()
    out = []
    for y0, x0 in boxes.tolist():
        lab = [[0] * W for _ in range(H)]
        for i in range(H):
            r0, r1, h0, h1 = y0 + iy0[i], y0 + iy1[i], hy0[i], hy1[i]
            for j in range(W):
                c0, c1, w0, w1 = x0 + jx0[j], x0 + jx1[j], wx0[j], wx1[j]
                kept = any(kp[r][q] and hw != 0
                           for r, q, hw in ((r0, c0, h0 * w0),
                                            (r0, c1, h0 * w1),
                                            (r1, c0, h1 * w0),
                                            (r1, c1, h1 * w1)))
                if not kept:
                    lab[i][j] = ignore_index
                    continue
                best, arg = -math.inf, 0
                for cls in range(C):
                    v = h0 * (w0 * p[r0][c0][cls] + w1 * p[r0][c1][cls]) + \
                        h1 * (w0 * p[r1][c0][cls] + w1 * p[r1][c1][cls])
                    if v > best:
                        best, arg = v, cls
                lab[i][j] = arg
        out.append(lab)
    return torch.tensor(out, dtype=torch.int16).reshape(len(out), H, W)


def make_scale_invariant_examples(image: torch.Tensor,
                                  probs: torch.Tensor,
                                  keep: torch.Tensor,
                                  boxes: torch.Tensor,
                                  patch_size: Tuple[int, int],
                                  ignore_index: int = 255,
                                  top: Optional[Tuple[torch.Tensor,
                                                      torch.Tensor]] = None
                                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Upsample random patches and their soft predictions to full size.

    Args:
        image (Tensor): (3, H, W) image (uint8 or float, any channel order).
        probs (Tensor): (C, H, W) soft prediction of the full image
            (probabilities: non-negative).
        keep (Tensor): (H, W) bool keep mask (:func:`keep_mask`).
        boxes (Tensor): (K, 2) patch corners (:func:`sample_patch_boxes`).
        patch_size (tuple[int, int]): (ph, pw).
        ignore_index (int): label of dropped pixels. Defaults to 255.
        top (tuple[Tensor], optional): ``(pred, max_prob)`` of ``probs``
            (argmax and max over classes, (H, W)) if already computed.

    Returns:
        tuple[Tensor]: images (K, 3, H, W) uint8 (bilinear,
        ``align_corners=True``) and labels (K, H, W) uint8
        (:func:`upsampled_patch_labels`).
    """
    ph, pw = patch_size
    H, W = image.shape[-2:]
    if probs.shape[-2:] != (H, W) or keep.shape[-2:] != (H, W):
        raise ValueError('image, probs and keep must have the same spatial '
                         f'size, got {tuple(image.shape)}, '
                         f'{tuple(probs.shape)}, {tuple(keep.shape)}')
    if probs.shape[0] > 255 or not 0 <= ignore_index <= 255:
        raise ValueError('uint8 labels need at most 255 classes and '
                         f'ignore_index in [0, 255], got {probs.shape[0]} '
                         f'classes and ignore_index={ignore_index}')
    img_p = crop_patches(image.float(), boxes, ph, pw)
    if (ph, pw) != (H, W):
        img_p = F.interpolate(img_p, size=(H, W), mode='bilinear',
                              align_corners=True)
    images = img_p.round_().clamp_(0, 255).to(torch.uint8)
    labels = upsampled_patch_labels(probs, keep.bool(), boxes, patch_size,
                                    ignore_index, top=top)
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
