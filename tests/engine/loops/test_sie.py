"""Self-training with scale-invariant examples (SelfTrainingLoop and helpers).

Unit tests check the pseudo-labelling against hand-made probability maps;
the integration tests run ``tools/train.py`` on the toy benchmark for two
rounds and resume in the middle of the second one.
"""
import glob
import json
import math
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from mmda.engine.loops import round_portions
from mmda.models.uda.sie_patches import (_cell_candidates, _cell_labels,
                                         bilinear_source_weights,
                                         make_scale_invariant_examples,
                                         reference_patch_labels,
                                         sample_patch_boxes,
                                         upsampled_patch_labels)
from mmda.models.uda.sie_selection import (image_class_statistics, keep_mask,
                                           max_argmax, normalized_entropy,
                                           num_selected, pixel_entropy,
                                           pseudo_label_confusion,
                                           pseudo_label_metrics,
                                           select_confident_images)
from tests.helpers import ROOT

PYTHON = sys.executable


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: fast on a shared 2-core machine and bitwise
    comparable with the subprocess runs (OMP_NUM_THREADS=1)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _ent(p):
    return -sum(v * math.log(v) for v in p if v > 0)


def _hand_made_probs():
    """One image, 3 classes, 1x5 pixels (probabilities per pixel)."""
    pix = [
        [0.9, 0.05, 0.05],  # class 0, lowest entropy of class 0
        [0.6, 0.2, 0.2],  # class 0, highest entropy of class 0
        [0.7, 0.15, 0.15],  # class 0, in between
        [0.1, 0.8, 0.1],  # class 1, alone -> degenerate group
        [0.2, 0.2, 0.6],  # class 2
    ]
    probs = torch.tensor(pix, dtype=torch.float64).t().reshape(1, 3, 1, 5)
    return pix, probs


# ---------------------------------------------------------------------------
# entropy, normalisation, statistics
# ---------------------------------------------------------------------------
def test_entropy_and_classwise_minmax_normalisation():
    pix, probs = _hand_made_probs()
    ent = pixel_entropy(probs)[0, 0]
    assert torch.allclose(ent, torch.tensor([_ent(p) for p in pix],
                                            dtype=torch.float64))
    norm, pred, max_prob = normalized_entropy(probs)
    e = [_ent(p) for p in pix]
    mid = (e[2] - e[0]) / (e[1] - e[0])
    assert pred[0, 0].tolist() == [0, 0, 0, 1, 2]
    assert torch.allclose(max_prob[0, 0],
                          torch.tensor([0.9, 0.6, 0.7, 0.8, 0.6],
                                       dtype=torch.float64))
    # class 0 spans [0, 1]; single-pixel groups map to 0
    expected = torch.tensor([0.0, 1.0, mid, 0.0, 0.0], dtype=torch.float64)
    assert torch.allclose(norm[0, 0], expected)
    assert 0 < mid < 1


def test_normalisation_is_per_image():
    _, probs = _hand_made_probs()
    other = probs.clone()
    other[0, :, 0, 2] = torch.tensor([0.4, 0.3, 0.3], dtype=torch.float64)
    norm_pair, _, _ = normalized_entropy(torch.cat([probs, other]))
    norm_a, _, _ = normalized_entropy(probs)
    norm_b, _, _ = normalized_entropy(other)
    assert torch.allclose(norm_pair[0], norm_a[0])
    assert torch.allclose(norm_pair[1], norm_b[0])
    # in the second image pixel 2 is now the most uncertain of class 0
    assert norm_b[0, 0, 2] == 1.0 and norm_b[0, 0, 1] < 1.0


def test_image_class_statistics():
    pix, probs = _hand_made_probs()
    st = image_class_statistics(probs)
    e = [_ent(p) for p in pix]
    mid = (e[2] - e[0]) / (e[1] - e[0])
    assert st['count'].tolist() == [[3, 1, 1]]
    assert st['score'][0, 0].item() == pytest.approx((0.9 + 0.6 + 0.7) / 3)
    assert st['score'][0, 1].item() == pytest.approx(0.8)
    assert st['mean_norm_entropy'][0, 0].item() == pytest.approx(
        (0 + 1 + mid) / 3)
    # a constant group gives an infinite threshold (= keep all, as the
    # authors' NaN comparison)
    assert math.isinf(st['mean_norm_entropy'][0, 1].item())
    # absent class -> NaN
    probs2 = probs.clone()
    probs2[0, :, 0, 4] = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    st2 = image_class_statistics(probs2)
    assert st2['count'][0, 2] == 0
    assert math.isnan(st2['score'][0, 2].item())
    assert math.isnan(st2['mean_norm_entropy'][0, 2].item())


# ---------------------------------------------------------------------------
# selection and thresholds
# ---------------------------------------------------------------------------
def test_num_selected_is_exact_floor():
    assert num_selected(2975, 0.1, 19) == 15  # floor(15.66)
    assert num_selected(190, 0.1, 19) == 1  # exactly 1.0 (no float slip)
    assert num_selected(189, 0.1, 19) == 0
    assert num_selected(380, 0.05, 19) == 1
    assert num_selected(2975, 0.4, 19) == 62


def test_select_confident_images_per_class_and_thresholds():
    nan = float('nan')
    # 6 images, 2 classes; p / C = 1.0 / 2 -> keep floor(N_c / 2)
    score = torch.tensor([[0.50, 0.99], [0.90, nan], [0.70, 0.20],
                          [0.80, nan], [0.60, 0.50], [0.95, nan]])
    ne = torch.tensor([[0.11, 0.21], [0.12, nan], [0.13, 0.23], [0.14, nan],
                       [0.15, 0.25], [0.16, nan]])
    out = select_confident_images(score, ne, portion=1.0)
    # class 0: order 5, 1, 3 | 2, 4, 0 -> keep 3, threshold from image 2
    # class 1: N_1 = 3 -> keep 1 (image 0), threshold from image 4
    assert out['per_class'] == [[5, 1, 3], [0]]
    assert out['thresholds'] == [pytest.approx(0.13), pytest.approx(0.25)]
    assert out['selected'] == [5, 1, 3, 0]
    assert out['num_candidates'] == [6, 3]
    # ignored class: no selection, default threshold
    out = select_confident_images(score, ne, portion=1.0, ignore_classes=[1])
    assert out['per_class'][1] == [] and out['thresholds'][1] == 1.0
    assert out['selected'] == [5, 1, 3]
    # C of p / C is a parameter (19 in the paper): floor(6 * 1 / 19) = 0
    out = select_confident_images(score, ne, portion=1.0, num_classes=19)
    assert out['selected'] == []
    # nothing selected: the cut image is the most confident one
    assert out['thresholds'] == [pytest.approx(0.16), pytest.approx(0.21)]


def test_selection_ties_keep_image_order():
    score = torch.tensor([[0.5], [0.9], [0.9], [0.9]])
    ne = torch.tensor([[0.1], [0.2], [0.3], [0.4]])
    out = select_confident_images(score, ne, portion=0.5)  # keep 2 of 4
    assert out['per_class'] == [[1, 2]]
    assert out['thresholds'] == [pytest.approx(0.4)]


def test_keep_mask_rule():
    norm = torch.tensor([[0.2, 0.5, 0.7, 0.5]])
    pred = torch.tensor([[0, 0, 0, 1]])
    th = torch.tensor([0.5, 0.6])
    # >= threshold of the predicted class is dropped (authors' rule)
    assert keep_mask(norm, pred, th).tolist() == [[True, False, False, True]]
    th = torch.tensor([math.inf, 0.0])
    assert keep_mask(norm, pred, th).tolist() == [[True, True, True, False]]


# ---------------------------------------------------------------------------
# patches
# ---------------------------------------------------------------------------
def test_patch_boxes_range_and_errors():
    g = torch.Generator().manual_seed(0)
    boxes = sample_patch_boxes(512, 1024, 256, 512, 1000, generator=g)
    assert boxes.shape == (1000, 2)
    assert boxes[:, 0].min() >= 0 and boxes[:, 0].max() <= 256
    assert boxes[:, 1].min() >= 0 and boxes[:, 1].max() <= 512
    assert boxes[:, 0].max() == 256  # the last position is reachable
    with pytest.raises(ValueError, match='patch_size'):
        sample_patch_boxes(64, 128, 65, 64, 1)


def test_full_size_patch_is_identity_with_ignore():
    torch.manual_seed(0)
    probs = torch.randn(19, 16, 32).softmax(0)
    image = torch.randint(0, 256, (3, 16, 32), dtype=torch.uint8)
    norm, pred, _ = normalized_entropy(probs[None])
    th = torch.full((19, ), 0.5)
    keep = keep_mask(norm[0], pred[0], th)
    assert 0 < keep.float().mean() < 1
    imgs, labels = make_scale_invariant_examples(
        image, probs, keep, torch.zeros(2, 2, dtype=torch.long), (16, 32))
    assert imgs.shape == (2, 3, 16, 32) and imgs.dtype == torch.uint8
    assert labels.shape == (2, 16, 32) and labels.dtype == torch.uint8
    assert torch.equal(imgs[0], image)
    expected = torch.where(keep, pred[0], torch.tensor(255))
    assert torch.equal(labels[0].long(), expected)


def test_upsampled_patch_labels_and_ignore_rule():
    # 3x3 image, 2x2 patch at (0, 0) upsampled x1.5 (align_corners=True):
    # output (i, j) samples the patch at (i / 2, j / 2).
    probs = torch.zeros(2, 3, 3)
    probs[1] = 1.0  # class 1 everywhere
    keep = torch.tensor([[False, False, True], [False, True, True],
                         [True, True, True]])
    image = torch.tensor([[0, 100, 7], [200, 50, 7], [7, 7, 7]],
                         dtype=torch.uint8).expand(3, 3, 3)
    imgs, labels = make_scale_invariant_examples(
        image, probs, keep, torch.tensor([[0, 0]]), (2, 2))
    # ignored only where every contributing patch pixel was ignored
    assert labels[0].tolist() == [[255, 255, 255], [255, 1, 1], [255, 1, 1]]
    # bilinear image: corners copy the patch, centre averages it
    assert imgs[0, 0].tolist() == [[0, 50, 100], [100, 88, 75],
                                   [200, 125, 50]]
    # patch at (1, 1): keep block [[T, T], [T, T]] -> nothing ignored
    _, labels = make_scale_invariant_examples(
        image, probs, keep, torch.tensor([[1, 1]]), (2, 2))
    assert (labels[0] == 1).all()


def test_patch_labels_follow_upsampled_soft_prediction():
    # 1x2 patch of a 1x3 image upsampled to 1x3: output x = 0, 1, 2 samples
    # the patch at 0, 0.5, 1. The middle pixel averages [0.5, 0, 0.45] and
    # [0, 0.5, 0.45]: argmax 2, a class neither neighbour predicts - labels
    # come from the upsampled soft prediction, not from upsampled labels.
    probs = torch.tensor([[[0.5, 0.0, 0.0]], [[0.05, 0.5, 1.0]],
                          [[0.45, 0.45, 0.0]]])
    probs[1, 0, 0] = 0.05
    image = torch.zeros(3, 1, 3, dtype=torch.uint8)
    keep = torch.ones(1, 3, dtype=torch.bool)
    _, labels = make_scale_invariant_examples(
        image, probs, keep, torch.tensor([[0, 0]]), (1, 2))
    assert labels[0, 0].tolist() == [0, 2, 1]


def test_ignore_only_where_upsampled_keep_is_exactly_zero():
    # A 1x2 patch [ignored, kept] upsampled to 1x2001 (align_corners=True):
    # output x samples the patch at x / 2000, so the kept pixel's bilinear
    # weight is x / 2000 - 0.0005 at x = 1, a genuine weight, not float
    # noise. The authors ignore only where the upsampled mask is 0 (x = 0);
    # a tolerance of 1e-3 would also drop x = 1.
    W = 2001
    probs = torch.zeros(3, 1, W)
    probs[2] = 1.0
    image = torch.zeros(3, 1, W, dtype=torch.uint8)
    keep = torch.zeros(1, W, dtype=torch.bool)
    keep[0, 1] = True
    _, labels = make_scale_invariant_examples(
        image, probs, keep, torch.tensor([[0, 0]]), (1, 2))
    assert labels[0, 0, 0] == 255
    assert (labels[0, 0, 1:] == 2).all()
    # the paper's sizes: a 512-wide patch upsampled to 1024 columns; output
    # column x samples patch column x * 511 / 1023, so x = 1021 falls at
    # 510 + 1/1023: the kept column 511 has weight 1/1023 < 1e-3 there.
    H, W = 4, 1024
    keep = torch.ones(H, W, dtype=torch.bool)
    keep[:, :511] = False
    probs = torch.zeros(2, H, W)
    probs[1] = 1.0
    image = torch.zeros(3, H, W, dtype=torch.uint8)
    _, labels = make_scale_invariant_examples(
        image, probs, keep, torch.tensor([[0, 0]]), (H, 512))
    up = torch.nn.functional.interpolate(
        keep[None, None, :, :512].float(), size=(H, W), mode='bilinear',
        align_corners=True)[0, 0, 0]
    assert 0 < up[1021] < 1e-3  # a tolerance of 1e-3 would drop it
    expected = torch.full((W, ), 1, dtype=torch.uint8)
    expected[:1021] = 255  # every contributing patch pixel ignored
    assert torch.equal(labels[0, 0], expected)


@pytest.mark.parametrize('size', [(512, 1024), (256, 512), (2, 2001),
                                  (3, 3), (5, 17), (1, 4)])
def test_bilinear_weights_are_torchs(size):
    # one-hot source columns: F.interpolate returns each source column's
    # weight at every output column; ours must give the same float32 values
    n_in, n_out = size
    i0, i1, w0, w1 = bilinear_source_weights(n_in, n_out)
    eye = torch.eye(n_in)[None, :, None, :]
    up = torch.nn.functional.interpolate(
        eye, size=(1, n_out), mode='bilinear', align_corners=True)[0, :, 0]
    ours = torch.zeros(n_in, n_out)
    cols = torch.arange(n_out)
    ours.index_put_((i0, cols), w0, accumulate=True)
    ours.index_put_((i1, cols), w1, accumulate=True)
    assert torch.equal(ours, up)


def _smooth_probs(g, C, H, W, grid, scale):
    logits = torch.randn(1, C, *grid, generator=g) * scale
    return torch.nn.functional.interpolate(
        logits, size=(H, W), mode='bilinear',
        align_corners=False)[0].softmax(0)


@pytest.mark.parametrize('seed', range(3))
def test_fused_patch_labels_equal_the_pixel_loop(seed):
    g = torch.Generator().manual_seed(seed)
    C, H, W = 6, 12, 17
    # rough maps: many class boundaries, cells with 1, 2 and >2 candidates
    probs = _smooth_probs(g, C, H, W, (4, 5), 3.0)
    keep = torch.rand(H, W, generator=g) > 0.3
    cell = _cell_labels(*probs.max(0)[::-1], probs.sum(0))
    cell, _, _ = _cell_candidates(probs, cell)
    codes = set(cell.unique().tolist())
    assert -1 in codes and any(c >= 0 for c in codes)
    for patch in ((5, 7), (H, W), (1, 9), (12, 2)):
        boxes = sample_patch_boxes(H, W, *patch, 3, generator=g)
        ours = upsampled_patch_labels(probs, keep, boxes, patch)
        ref = reference_patch_labels(probs, keep, boxes, patch)
        assert torch.equal(ours, ref), patch
        # and (no float32 tie here) the float32 F.interpolate labels
        for k, (y, x) in enumerate(boxes.tolist()):
            crop = (slice(y, y + patch[0]), slice(x, x + patch[1]))
            up = torch.nn.functional.interpolate(
                probs[None, :, crop[0], crop[1]], size=(H, W),
                mode='bilinear', align_corners=True)[0].argmax(0)
            kp = torch.nn.functional.interpolate(
                keep[None, None, crop[0], crop[1]].float(), size=(H, W),
                mode='bilinear', align_corners=True)[0, 0]
            assert torch.equal(ours[k].long(), up.masked_fill(kp == 0, 255))


def test_fused_patch_labels_ties_and_many_candidates():
    # uniform corners: every class ties, the first one wins (as argmax);
    # around (0, 1) three or more classes are candidates
    C, H, W = 4, 3, 5
    probs = torch.full((C, H, W), 0.25)
    probs[:, 0, 0] = torch.tensor([0.35, 0.35, 0.3, 0.0])
    probs[:, 0, 1] = torch.tensor([0.0, 0.0, 0.3, 0.7])
    probs[:, 0, 2] = torch.tensor([0.0, 0.35, 0.3, 0.35])
    keep = torch.ones(H, W, dtype=torch.bool)
    cell = _cell_labels(*probs.max(0)[::-1], probs.sum(0))
    cell, _, _ = _cell_candidates(probs, cell)
    assert (cell == -2).any()
    boxes = torch.tensor([[0, 0], [0, 1], [1, 2]])
    for patch in ((2, 3), (1, 2), (2, 2)):
        ours = upsampled_patch_labels(probs, keep, boxes, patch)
        assert torch.equal(ours, reference_patch_labels(probs, keep, boxes,
                                                        patch)), patch
    with pytest.raises(ValueError, match='non-negative'):
        upsampled_patch_labels(-probs, keep, boxes, (2, 2))


def test_max_argmax_keeps_the_first_maximum():
    g = torch.Generator().manual_seed(0)
    for shape, dim in (((2, 19, 9, 7), 1), ((19, 8, 9), 0), ((3, 5, 4), 1)):
        p = torch.randint(0, 3, shape, generator=g).float()  # many ties
        ref = p.max(dim=dim)
        values, index = max_argmax(p, dim)
        assert torch.equal(values, ref.values)
        assert torch.equal(index, ref.indices)
        assert torch.equal(index, p.argmax(dim=dim))


def test_entropy_of_zero_probabilities():
    p = torch.tensor([[1.0, 0.0], [0.0, 0.5], [0.0, 0.5]])[None, :, :, None]
    ent = pixel_entropy(p)
    assert ent[0, 0, 0] == 0.0
    assert ent[0, 1, 0] == pytest.approx(math.log(2))
    assert torch.isfinite(ent).all()


@pytest.mark.parametrize('block', [2**19, 2**10, 1])
@pytest.mark.parametrize('width', [21, 64, 100])
def test_one_pass_entropy_and_argmax_equal_the_separate_ones(
        block, width, monkeypatch):
    """The blocked pass of the normalisation gives the values of
    pixel_entropy and max_argmax bit for bit, with zero probabilities
    (0 log 0), ties and several images; blocks of a few rows (aligned so
    that the vectorised class sums group pixels as on the whole map)."""
    from mmda.models.uda import sie_selection
    monkeypatch.setattr(sie_selection, '_BLOCK_ELEMENTS', block)
    g = torch.Generator().manual_seed(0)
    C, H = 7, 13
    probs = _smooth_probs(g, C, H, width, (3, 4), 4.0)[None].repeat(
        3, 1, 1, 1)
    probs[1, 2:, :4] = 0  # 0 log 0 and exact ties among the zeros
    probs[1, :2, :4] = 0.5
    probs[2] = torch.randint(0, 3, (C, H, width), generator=g).float() / 3
    ent, max_prob, pred = sie_selection.entropy_max_argmax(probs)
    values, index = max_argmax(probs, 1)
    assert torch.equal(ent, pixel_entropy(probs))
    assert torch.equal(max_prob, values) and torch.equal(pred, index)
    assert torch.isfinite(ent).all()


@pytest.mark.parametrize('seed', range(4))
def test_patch_labels_keep_rule_on_every_row_and_column(seed):
    """Dense keep patterns and patch sizes whose upsampling has zero
    weights and clamped corners on inner rows and columns (9 -> 17: every
    other output row samples a patch row exactly): ours equals the pixel
    loop and the authors' F.interpolate(keep) == 0 rule."""
    g = torch.Generator().manual_seed(seed)
    C, H, W = 5, 17, 23
    probs = _smooth_probs(g, C, H, W, (5, 6), 3.0)
    keep = torch.rand(H, W, generator=g) > 0.5
    for patch in ((9, 12), (17, 1), (2, 23), (16, 22), (1, 1)):
        boxes = sample_patch_boxes(H, W, *patch, 3, generator=g)
        ours = upsampled_patch_labels(probs, keep, boxes, patch)
        assert torch.equal(ours, reference_patch_labels(
            probs, keep, boxes, patch)), patch
        for k, (y, x) in enumerate(boxes.tolist()):
            kp = torch.nn.functional.interpolate(
                keep[None, None, y:y + patch[0], x:x + patch[1]].float(),
                size=(H, W), mode='bilinear', align_corners=True)[0, 0]
            assert torch.equal(ours[k] == 255, kp == 0), patch


def test_round_portions():
    assert round_portions(0.1, 0.05, 0.4) == [0.1, 0.15, 0.2, 0.25, 0.3, 0.35,
                                              0.4]
    assert round_portions(0.1, 0.05, 0.4, max_rounds=2) == [0.1, 0.15]
    assert round_portions(0.1, 0.05, 0.4, max_rounds=0) == []
    assert round_portions(0.2, 0.0, 1.0, max_rounds=3) == [0.2, 0.2, 0.2]
    with pytest.raises(ValueError, match='max_rounds'):
        round_portions(0.2, 0.0, 1.0)


def test_pseudo_label_quality_against_hand_counts():
    # 2x3 image, 3 classes; 255 = unlabelled
    pred = torch.tensor([[0, 0, 1], [2, 1, 1]])
    keep = torch.tensor([[True, True, False], [True, True, True]])
    gt = torch.tensor([[0, 1, 1], [255, 1, 2]])
    cm = pseudo_label_confusion(pred, keep, gt, 3)
    # kept & labelled: (0->0), (1->0), (1->1), (2->1); dropped: one true 1;
    # the unlabelled pixel counts nowhere
    expect = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 0]])
    assert torch.equal(cm, expect)
    m = pseudo_label_metrics(cm + cm)  # summing images keeps the ratios
    assert m['acc'] == pytest.approx(50.0)
    assert m['coverage'] == pytest.approx(80.0)
    # IoU: class 0 1/(1+2-1)=0.5, class 1 1/(2+2-1)=1/3, class 2 0/(1+0-0)
    assert m['per_class_iou'] == pytest.approx([50.0, 100 / 3, 0.0])
    assert m['miou'] == pytest.approx((50.0 + 100 / 3) / 3)
    assert m['pred_share'] == pytest.approx([50.0, 50.0, 0.0])
    assert m['gt_share'] == pytest.approx([25.0, 50.0, 25.0])
    assert m['num_pixels'] == 10
    # a class absent from both is None and left out of the mean
    m4 = pseudo_label_metrics(pseudo_label_confusion(pred, keep, gt, 4))
    assert m4['per_class_iou'][3] is None
    assert m4['miou'] == pytest.approx(m['miou'])
    with pytest.raises(ValueError, match='outside'):
        pseudo_label_confusion(pred, keep, torch.full((2, 3), 7), 3)
    with pytest.raises(ValueError, match='same shape'):
        pseudo_label_confusion(pred, keep, gt[:1], 3)


# ---------------------------------------------------------------------------
# the loop through tools/train.py
# ---------------------------------------------------------------------------
CONFIG = osp.join(ROOT, 'configs', 'sie', 'toy_sie.py')


def _option_dict(init_ckpt):
    """Tiny sizes: 24 target images, 2 rounds of a few iterations."""
    return {
        'load_from': init_ckpt,
        'train_cfg.source_only_iters': 2,
        'train_cfg.max_rounds': 2,
        # p / 19 of the images per class: p = 1 keeps floor(N_c / 19)
        'train_cfg.init_portion': 1.0,
        'train_cfg.portion_step': 1.0,
        'train_cfg.max_portion': 2.0,
        'train_cfg.num_patches': 2,
        'train_cfg.epochs_per_round': 2,
        'train_cfg.patch_size': [32, 64],
        'train_cfg.target_dataloader.dataset.indices': 24,
        'train_cfg.target_dataloader.batch_size': 8,
        'train_cfg.example_dataloader.batch_size': 2,
        'train_dataloader.batch_size': 2,
        'val_dataloader.dataset.indices': 4,
        'val_dataloader.batch_size': 4,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.logger.interval': 1,
    }


def _options(init_ckpt):
    out = []
    for k, v in _option_dict(init_ckpt).items():
        v = '[' + ','.join(map(str, v)) + ']' if isinstance(v, list) else v
        out.append(f'{k}={v}')
    return out


def _runner(work_dir, init_ckpt, resume=None, **extra):
    """An in-process runner with the same settings (no start-up cost)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(_option_dict(init_ckpt))
    cfg.merge_from_dict(extra)
    cfg.work_dir = work_dir
    if resume:
        cfg.resume = True
        cfg.load_from = resume
    return Runner.from_cfg(cfg)


def _train(work_dir, options, resume=None):
    cmd = [PYTHON, osp.join(ROOT, 'tools', 'train.py'), CONFIG,
           '--work-dir', work_dir]
    if resume:
        cmd += ['--resume', resume]
    cmd += ['--cfg-options'] + options
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    return proc.stdout + proc.stderr


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def two_round_run(tmp_path_factory):
    """Tiny source checkpoint + an uninterrupted two-round run."""
    from mmengine.config import Config

    from mmda.registry import MODELS
    tmp = tmp_path_factory.mktemp('sie')
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    init_ckpt = str(tmp / 'init.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, init_ckpt)
    work_a = str(tmp / 'a')
    log = _train(work_a, _options(init_ckpt))
    return dict(tmp=tmp, init=init_ckpt, work=work_a, log=log)


@pytest.mark.slow
def test_two_rounds_write_examples_and_state(two_round_run):
    work = two_round_run['work']
    last = open(osp.join(work, 'last_checkpoint')).read().strip()
    ckpt = _load(last)
    state = ckpt['meta']['self_training']
    rounds = state['rounds']
    assert [r['round'] for r in rounds] == [0, 1]
    assert [r['portion'] for r in rounds] == [1.0, 2.0]
    # iterations: warm-up 2, then the rounds back to back
    assert rounds[0]['start_iter'] == 2
    assert rounds[1]['start_iter'] == 2 + rounds[0]['num_iters']
    end = rounds[1]['start_iter'] + rounds[1]['num_iters']
    assert ckpt['meta']['iter'] == end
    for info in rounds:
        root = osp.join(work, info['dir'])
        names = open(osp.join(root, 'examples.txt')).read().split()
        assert len(names) == info['num_examples'] == 2 * info['num_selected']
        assert info['num_selected'] >= 1
        # 2 epochs over the examples, batch 2
        assert info['num_iters'] == 2 * math.ceil(len(names) / 2)
        assert len(info['thresholds']) == 19
        assert sorted(info['selected']) == sorted(set(info['selected']))
        assert all(0 <= i < 24 for i in info['selected'])
        for name in names[:4]:
            img = np.array(Image.open(osp.join(root, 'images',
                                               name + '.png')))
            lab = np.array(Image.open(osp.join(root, 'labels',
                                               name + '.png')))
            assert img.shape == (64, 128, 3) and lab.shape == (64, 128)
            assert set(np.unique(lab)) <= set(range(19)) | {255}
        meta = json.load(open(osp.join(root, 'round.json')))
        assert meta['patch_size'] == [32, 64]
        # the toy config measures the pseudo-labels against target labels
        q = meta['pseudo_label_quality']
        assert q == info['pseudo_label_quality']
        assert 0 <= q['acc'] <= 100 and 0 < q['coverage'] <= 100
        assert sum(q['pred_share']) == pytest.approx(100.0)
        assert sum(q['gt_share']) == pytest.approx(100.0)
        assert len(q['per_class_iou']) == 19
        # every labelled pixel of the selected images is compared once
        labelled = sum(int((np.array(Image.open(
            p.replace(osp.join('images', 'train'),
                      osp.join('labels', 'train')))) != 255).sum())
            for p in meta['selected_img_paths'])
        assert q['num_pixels'] == labelled
        assert len(meta['selected_img_paths']) == info['num_selected']
    # a checkpoint at the end of every round (save_last of a growing max_iters)
    for info in rounds:
        end_r = info['start_iter'] + info['num_iters']
        assert osp.isfile(osp.join(work, f'iter_{end_r}.pth'))
    # source batches get CE only, examples CE + focal
    scalars = [json.loads(line) for line in open(glob.glob(
        osp.join(work, '*', 'vis_data', 'scalars.json'))[0])]
    train = [s for s in scalars if 'src.decode.loss_ce' in s]
    assert train and all('src.decode.loss_focal' not in s for s in train)
    in_rounds = [s for s in train if s['iter'] > 2]
    assert in_rounds and all('sie.decode.loss_focal' in s for s in in_rounds)
    assert all('sie.decode.loss_ce' not in s for s in train if s['iter'] <= 2)
    # validation ran after the warm-up and after each round
    assert sum('mIoU' in s for s in scalars) == 3


def test_pseudo_label_quality_needs_target_labels(tmp_path):
    from mmda.engine.loops.sie_rounds import RoundGenerator

    class NoLabels:
        def get_data_info(self, i):
            return dict(img_path=f'img_{i}.png', seg_map_path=None)

    loop = object.__new__(RoundGenerator)
    loop._target_dataset = NoLabels()
    with pytest.raises(ValueError, match="img_3.png.*no seg_map_path"):
        loop.target_label(3, (4, 4))
    missing = str(tmp_path / 'nope.png')
    NoLabels.get_data_info = lambda self, i: dict(img_path='a.png',
                                                  seg_map_path=missing)
    with pytest.raises(FileNotFoundError, match='nope.png'):
        loop.target_label(0, (4, 4))


@pytest.mark.slow
def test_resume_in_the_middle_of_round_two(two_round_run, tmp_path):
    work_a = two_round_run['work']
    state = _load(osp.join(work_a, open(
        osp.join(work_a, 'last_checkpoint')).read().strip()))['meta'][
            'self_training']
    r1 = state['rounds'][1]
    start, end = r1['start_iter'], r1['start_iter'] + r1['num_iters']
    mids = [i for i in range(start + 1, end) if i % 2 == 0]
    assert mids, f'round 1 too short to cut: {start}-{end}'
    mid = mids[0]
    # what the interrupted run had on disk at iteration `mid`
    work_b = str(tmp_path / 'b')
    os.makedirs(work_b)
    shutil.copy(osp.join(work_a, f'iter_{mid}.pth'), work_b)
    shutil.copytree(osp.join(work_a, 'sie'), osp.join(work_b, 'sie'))
    mtimes = {p: os.stat(p).st_mtime_ns
              for p in glob.glob(osp.join(work_b, 'sie', '*', '*', '*'))}
    assert mtimes
    log = _train(work_b, _options(two_round_run['init']),
                 resume=osp.join(work_b, f'iter_{mid}.pth'))
    # no round regenerated: the example files are untouched
    assert 'reusing the examples' in log
    assert 'predict target' not in log
    for p, t in mtimes.items():
        assert os.stat(p).st_mtime_ns == t, p
    # the same weights as the uninterrupted run
    wa = _load(osp.join(work_a, f'iter_{end}.pth'))['state_dict']
    wb = _load(osp.join(work_b, f'iter_{end}.pth'))['state_dict']
    assert wa.keys() == wb.keys()
    diff = {k: (wa[k].float() - wb[k].float()).abs().max().item()
            for k in wa if not torch.equal(wa[k], wb[k])}
    assert not diff, diff
    # and not the weights of the checkpoint it resumed from
    wm = _load(osp.join(work_b, f'iter_{mid}.pth'))['state_dict']
    assert any(not torch.equal(wm[k], wb[k]) for k in wb)


@pytest.mark.slow
def test_resume_at_round_boundary_generates_only_the_next_round(
        two_round_run, tmp_path):
    work_a = two_round_run['work']
    state = _load(osp.join(work_a, open(
        osp.join(work_a, 'last_checkpoint')).read().strip()))['meta'][
            'self_training']
    r0, r1 = state['rounds']
    end0 = r0['start_iter'] + r0['num_iters']
    end1 = r1['start_iter'] + r1['num_iters']
    work_c = str(tmp_path / 'c')
    os.makedirs(work_c)
    shutil.copy(osp.join(work_a, f'iter_{end0}.pth'), work_c)
    runner = _runner(work_c, two_round_run['init'],
                     resume=osp.join(work_c, f'iter_{end0}.pth'))
    runner.train()
    assert runner.iter == end1
    # round 0 is finished: not regenerated (its folder is not even needed)
    assert not osp.exists(osp.join(work_c, 'sie', 'round_0'))
    assert osp.isfile(osp.join(work_c, 'sie', 'round_1', 'examples.txt'))
    # round 1 regenerated from the same weights: same selection and weights
    c1 = _load(osp.join(work_c, f'iter_{end1}.pth'))
    assert c1['meta']['self_training']['rounds'][1]['selected'] == \
        r1['selected']
    wa = _load(osp.join(work_a, f'iter_{end1}.pth'))['state_dict']
    assert all(torch.equal(wa[k], c1['state_dict'][k]) for k in wa)


def test_infinite_sampler_is_rejected(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.train_dataloader.dataset.indices = 4
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='DefaultSampler'):
        runner.train()


@pytest.mark.slow
def test_resume_without_state_is_an_error(tmp_path, two_round_run):
    # a checkpoint past the warm-up but without the loop's ledger
    full = _load(osp.join(two_round_run['work'], 'iter_4.pth'))
    del full['meta']['self_training']
    work = str(tmp_path / 'd')
    os.makedirs(work)
    path = osp.join(work, 'iter_4.pth')
    torch.save(full, path)
    runner = _runner(work, two_round_run['init'], resume=path)
    with pytest.raises(ValueError, match='no self-training state'):
        runner.train()


@pytest.mark.slow
def test_resume_mid_round_needs_the_examples(tmp_path, two_round_run):
    work_a = two_round_run['work']
    state = _load(osp.join(work_a, open(
        osp.join(work_a, 'last_checkpoint')).read().strip()))['meta'][
            'self_training']
    r1 = state['rounds'][1]
    mid = [i for i in range(r1['start_iter'] + 1,
                            r1['start_iter'] + r1['num_iters'])
           if i % 2 == 0][0]
    work = str(tmp_path / 'e')
    os.makedirs(work)
    shutil.copy(osp.join(work_a, f'iter_{mid}.pth'), work)
    runner = _runner(work, two_round_run['init'],
                     resume=osp.join(work, f'iter_{mid}.pth'))
    with pytest.raises(FileNotFoundError, match='round 1'):
        runner.train()


def test_benchmark_control_run_config(tmp_path):
    """tools/benchmarks/sie_toy.py: the control continues the source-only
    checkpoint for the SIE run's length at the rounds' rate, without rounds."""
    from tests.helpers import load_benchmark
    bench = load_benchmark('sie_toy')
    cfg = bench.make_cfg('source_continued', 1, str(tmp_path), 600,
                         source_ckpt='src.pth', continued_iters=498)
    assert cfg.load_from == 'src.pth' and cfg.randomness.seed == 1
    assert cfg.train_cfg.source_only_iters == 498
    assert cfg.train_cfg.max_rounds == 0
    assert cfg.train_cfg.source_only_lr_mult == 1.0
    sie = bench.make_cfg('sie', 1, str(tmp_path), 600, source_ckpt='src.pth')
    assert sie.train_cfg.source_only_iters == 0
    assert sie.train_cfg.get('max_rounds') is None
    with pytest.raises(ValueError, match='iteration count'):
        bench.make_cfg('source_continued', 1, str(tmp_path), 600,
                       source_ckpt='src.pth')
    with pytest.raises(SystemExit):
        bench.parse_args(['--methods', 'source_continued'])


def test_benchmark_table_reports_pseudo_label_accuracy():
    from tests.helpers import load_benchmark
    bench = load_benchmark('sie_toy')
    summary = bench.summarize(dict(source_only=[40.0, 42.0],
                                   sie=[43.0, 45.0]))
    summary['per_round'] = dict(sie=[[41.0, 43.0], [43.0, 45.0]])
    summary['pseudo_label_acc'] = dict(sie=[[80.0, 90.0], [82.0, 70.0]],
                                       source_only=[])
    table = bench.format_table(summary, 2, 600)
    assert '| source-only | 41.00 ± 1.00 | 40.00, 42.00 |' in table
    assert '| SIE (CE + 0.1 focal) | 42.00 | 44.00 |' in table
    assert '| SIE (CE + 0.1 focal) | 81.0 | 80.0 |' in table
