"""Scale-invariant examples: random patches upsampled with their labels.

Step 4 of a self-training round of Subhani & Ali, ECCV 2020
(docs/methods.md#scale-invariant-examples; selection and thresholds in
:mod:`mmda.models.uda.sie_selection`): random patches of the image, of its
soft prediction and of the keep mask are upsampled (bilinear,
``align_corners=True``) to the full size; label = argmax of the upsampled
prediction, 255 where the upsampled keep mask is exactly 0, i.e. where only
ignored pixels contribute - the authors' ``map_ == 0`` rule. A kept pixel
with a tiny bilinear weight (e.g. 1/1023 for a 512-wide patch upsampled to
1024) still keeps the label: no tolerance.

The labels are computed without upsampling the C channels
(:func:`upsampled_patch_labels`: a 2x2 source cell whose corners all prefer
one class keeps it; only pixels near class boundaries are interpolated, in
float64, so the labels do not depend on the CPU's float32 vector path).
:func:`reference_patch_labels` is the same definition written pixel by pixel
(the tests and the speed benchmark compare both); ``docs/performance.md`` has
the measured speed.
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .sie_selection import max_argmax

#: ``(pred, max_prob)`` (H, W) of a prediction, when already computed
TopClass = Optional[Tuple[torch.Tensor, torch.Tensor]]


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


def _cell_candidates(probs: torch.Tensor, cell: torch.Tensor,
                     used: Optional[torch.Tensor] = None
                     ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Resolve the cells :func:`_cell_labels` left open, with all classes.

    For an open cell, ``L = max_c min_corners p_c`` bounds the winning
    sample value from below, so only classes with ``max_corners p_c >= L``
    (with :data:`_CELL_REL_MARGIN`) can win anywhere in the cell. Most open
    cells lie on a boundary between two classes and have exactly two
    candidates ``d < e``: there the label is ``e`` iff ``v_e > v_d``.

    ``used`` (H, W) bool, optional: the cells to resolve (those the patches
    sample); the others are left as they are.

    Returns:
        tuple[Tensor]: ``cell`` (H, W) int16 updated: class, -1 (two
        candidates, stored in ``first`` and ``second`` (H, W) int16) or -2
        (three or more: evaluate every class).
    """
    C, H, W = probs.shape
    first = torch.zeros_like(cell)
    second = torch.zeros_like(cell)
    open_ = cell < 0
    if used is not None:  # cells no patch samples stay open (unused)
        open_ &= used
    cy, cx = open_.nonzero(as_tuple=True)
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


def upsampled_patch_labels(probs: torch.Tensor,
                           keep: torch.Tensor,
                           boxes: torch.Tensor,
                           patch_size: Tuple[int, int],
                           ignore_index: int = 255,
                           top: TopClass = None) -> torch.Tensor:
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
    kept" (:func:`bilinear_source_weights`): per source cell (its 4 corners)
    except on the few output rows and columns with a zero weight, so that a
    dropped cell needs no class at all. One pass over the map, no Python
    loop over pixels; the loop over the K patches does O(H * W) work each.

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
        max_prob, pred = max_argmax(probs, 0)
    else:
        pred, max_prob = top
    cell = _cell_labels(pred, max_prob, probs.sum(0))
    dev = probs.device
    iy0, iy1, hy0, hy1 = bilinear_source_weights(ph, H, dev)
    jx0, jx1, wx0, wx1 = bilinear_source_weights(pw, W, dev)
    hy0d, hy1d, wx0d, wx1d = (t.double() for t in (hy0, hy1, wx0, wx1))
    # Keep rule. Where both weights of both axes are non-zero and the
    # corners are two adjacent rows / columns (all output pixels but a few
    # rows and columns, e.g. the first one), the 4 corners of the source
    # cell count: kept iff one of them is kept (``any4``), so dropped
    # cells take ``ignore_index`` right away and never need their class.
    # The "special" rows and columns are evaluated corner by corner.
    k4 = keep.clone()
    k4[:-1] |= keep[1:]
    k4[:, :-1] |= k4[:, 1:].clone()
    rows_ok = (hy0 > 0) & (hy1 > 0) & (iy1 == iy0 + 1)
    cols_ok = (wx0 > 0) & (wx1 > 0) & (jx1 == jx0 + 1)
    si, sj = (~(rows_ok[:, None] & cols_ok[None, :])).nonzero(as_tuple=True)
    used = torch.zeros((H, W), dtype=torch.bool, device=dev)
    for y0, x0 in boxes.tolist():
        used[y0:y0 + ph, x0:x0 + pw] = True
    cell, first, second = _cell_candidates(probs, cell, used & k4)
    cells = cell.view(-1)
    cells_k = torch.where(k4, cell, ignore_index).view(-1)
    flat = probs.reshape(-1)  # class c, pixel q at c * H * W + q
    keep_flat = keep.reshape(-1)

    def corners(i, j, y0, x0):
        """Flat source pixels of the 4 corners of output pixels (i, j)."""
        r0 = (iy0.take(i) + y0) * W
        r1 = (iy1.take(i) + y0) * W
        c0, c1 = jx0.take(j) + x0, jx1.take(j) + x0
        return r0 + c0, r0 + c1, r1 + c0, r1 + c1

    def sample(cls, i, j, y0, x0):
        """float64 bilinear values (K, P) of the classes ``cls`` (K, P) or
        (K, 1) at the output pixels (i, j) (P, ) of the patch at (y0, x0)."""
        base = cls * (H * W)
        a, b, c, d = (flat.take(base + q).double()
                      for q in corners(i, j, y0, x0))
        w0, w1 = wx0d.take(j), wx1d.take(j)
        return hy0d.take(i) * (w0 * a + w1 * b) + \
            hy1d.take(i) * (w0 * c + w1 * d)

    out = []
    for y0, x0 in boxes.tolist():
        # cell of every output pixel, as a flat index into (H, W)
        q_all = ((iy0 + y0) * W)[:, None] + (jx0 + x0)[None, :]
        lab = cells_k.take(q_all)
        if si.numel():  # special rows / columns: corner by corner
            q00, q01, q10, q11 = corners(si, sj, y0, x0)
            h0, h1 = hy0.take(si) > 0, hy1.take(si) > 0
            w0, w1 = wx0.take(sj) > 0, wx1.take(sj) > 0
            kept = (keep_flat.take(q00) & h0 & w0) | \
                (keep_flat.take(q01) & h0 & w1) | \
                (keep_flat.take(q10) & h1 & w0) | \
                (keep_flat.take(q11) & h1 & w1)
            lab[si, sj] = torch.where(kept, cells.take(q_all[si, sj]),
                                      ignore_index).to(lab)
        i, j = (lab < 0).nonzero(as_tuple=True)
        if i.numel():
            many = lab[i, j] == -2
            if bool(many.any()):  # rare: every class, first maximum wins
                i3, j3 = i[many], j[many]
                cls = torch.arange(C, device=dev)[:, None]
                lab[i3, j3] = sample(cls, i3, j3, y0, x0).argmax(
                    dim=0).to(lab)
                two = (~many).nonzero().squeeze(1)
                i, j = i.index_select(0, two), j.index_select(0, two)
            if i.numel():  # two candidates d < e: e wins iff v_e > v_d
                q = q_all[i, j]
                de = torch.stack([first.view(-1).take(q),
                                  second.view(-1).take(q)]).long()
                v = sample(de, i, j, y0, x0)
                lab[i, j] = torch.where(v[1] > v[0], de[1], de[0]).to(lab)
        out.append(lab)
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
                                  top: TopClass = None
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
