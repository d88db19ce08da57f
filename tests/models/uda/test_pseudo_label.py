"""Tests of pseudo-labels, their weights, soft-target losses and
distribution alignment."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmda.models.uda.dist_align import DistributionAlignment
from mmda.models.losses import mse_consistency, soft_cross_entropy
from mmda.models.uda.pseudo_label import pseudo_label_weight, sigmoid_rampup
from mmda.registry import MODELS


def _probs():
    """(2, 3, 2, 2) probabilities with hand-picked maxima.

    image 0 max probs [[0.98, 0.50], [0.97, 0.968]] -> 3 of 4 pass 0.968
    image 1 max probs [[0.99, 0.60], [0.40, 0.50]]  -> 1 of 4 passes
    """
    top = torch.tensor([[[0.98, 0.50], [0.97, 0.968]],
                        [[0.99, 0.60], [0.40, 0.50]]])
    cls = torch.tensor([[[0, 2], [1, 1]], [[2, 0, ], [1, 2]]])
    probs = torch.empty(2, 3, 2, 2)
    rest = (1.0 - top) / 2
    for c in range(3):
        probs[:, c] = torch.where(cls == c, top, rest)
    # image 1, pixel (1, 0): 0.40 vs 0.30 / 0.30 is still a valid argmax
    return probs, cls


def test_threshold_uniform_per_batch_default():
    """One weight for the whole batch (thesis §5.2.1, DACS / DAFormer code):
    3 + 1 of 8 pixels pass 0.968 -> 0.5 on every pixel of both images."""
    probs, cls = _probs()
    label, weight = pseudo_label_weight(probs)  # DACS defaults
    assert label.dtype == torch.long and torch.equal(label, cls)
    assert weight.shape == (2, 2, 2) and weight.dtype == torch.float32
    assert torch.equal(weight, torch.full((2, 2, 2), 0.5))
    _, w_batch = pseudo_label_weight(probs, reduce='batch')
    assert torch.equal(w_batch, weight)
    # per image is the ablation: 3/4 and 1/4
    _, w_img = pseudo_label_weight(probs, reduce='image')
    assert torch.allclose(w_img[0], torch.full((2, 2), 0.75))
    assert torch.allclose(w_img[1], torch.full((2, 2), 0.25))
    # other thresholds: 4 + 3 of 8 pass 0.5
    _, w = pseudo_label_weight(probs, threshold=0.5)
    assert torch.allclose(w, torch.full((2, 2, 2), 7 / 8))
    with pytest.raises(ValueError, match="reduce must be"):
        pseudo_label_weight(probs, reduce='pixel')


def test_threshold_uniform_batch_weight_unequal_images():
    """A 2-image batch whose images are confident on 5 and 17 of 24 pixels:
    per image 0.208 / 0.708, per batch (5 + 17) / 48 = 0.458 for both."""
    probs = torch.full((2, 3, 4, 6), 0.25)
    probs[:, 0] = 0.5
    flat = probs.view(2, 3, 24)
    flat[0, :, :5] = torch.tensor([0.98, 0.01, 0.01])[:, None]
    flat[1, :, :17] = torch.tensor([0.01, 0.98, 0.01])[:, None]
    _, w = pseudo_label_weight(probs)
    assert torch.allclose(w, torch.full((2, 4, 6), 22 / 48))
    _, w_img = pseudo_label_weight(probs, reduce='image')
    assert torch.allclose(w_img[0], torch.full((4, 6), 5 / 24))
    assert torch.allclose(w_img[1], torch.full((4, 6), 17 / 24))


def test_threshold_per_pixel_none_and_scale():
    probs, _ = _probs()
    _, w = pseudo_label_weight(probs, mode='threshold')
    expected = torch.tensor([[[1., 0.], [1., 1.]], [[1., 0.], [0., 0.]]])
    assert torch.equal(w, expected)
    _, w = pseudo_label_weight(probs, mode='none')
    assert torch.equal(w, torch.ones(2, 2, 2))
    _, w = pseudo_label_weight(probs, mode='threshold', scale=2.0)
    assert torch.equal(w, 2 * expected)


def test_sigmoid_mode_is_thesis_eq_2_13():
    probs, _ = _probs()
    # w(k) = exp(-5 (1 - k / 10000)^2), 1 from k_max on
    for k, value in ((0, math.exp(-5.0)), (5000, math.exp(-1.25)),
                     (9000, math.exp(-0.05)), (10000, 1.0), (20000, 1.0)):
        _, w = pseudo_label_weight(probs, mode='sigmoid', iteration=k)
        assert torch.allclose(w, torch.full((2, 2, 2), value)), k
    assert math.isclose(sigmoid_rampup(0, 10000), 0.006737946999085467)
    assert math.isclose(sigmoid_rampup(2500, 10000), math.exp(-5 * 0.5625))
    assert sigmoid_rampup(3, 0) == 1.0
    # the literally printed exp(-c (k_max - k)^2) is c' = c * k_max^2
    assert math.isclose(
        sigmoid_rampup(95, 100, c=5e-4 * 100**2),
        math.exp(-5e-4 * (100 - 95)**2))
    _, w = pseudo_label_weight(
        probs, mode='sigmoid', iteration=50, ramp_iters=100, ramp_c=2.0)
    assert torch.allclose(w, torch.full((2, 2, 2), math.exp(-0.5)))
    with pytest.raises(ValueError, match='iteration'):
        pseudo_label_weight(probs, mode='sigmoid')


def test_bad_inputs():
    probs, _ = _probs()
    with pytest.raises(ValueError, match='unknown mode'):
        pseudo_label_weight(probs, mode='entropy')
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        pseudo_label_weight(probs[0])
    with pytest.raises(ValueError, match='reduce'):
        pseudo_label_weight(probs, reduce='pixel')


def test_soft_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 2, 2, requires_grad=True)
    probs, cls = _probs()
    onehot = F.one_hot(cls, 3).permute(0, 3, 1, 2).float()
    # one-hot targets == hard cross entropy
    assert torch.allclose(
        soft_cross_entropy(logits, onehot), F.cross_entropy(logits, cls))
    # explicit formula with weights
    w = torch.rand(2, 2, 2)
    expected = (-(probs * F.log_softmax(logits, 1)).sum(1) * w).mean()
    loss = soft_cross_entropy(logits, probs, w[:, None])
    assert torch.allclose(loss, expected)
    assert soft_cross_entropy(logits, probs, w,
                              reduction='none').shape == (2, 2, 2)
    # targets are constants
    targets = probs.clone().requires_grad_(True)
    soft_cross_entropy(logits, targets).backward()
    assert targets.grad is None and logits.grad is not None
    with pytest.raises(ValueError, match='weight'):
        soft_cross_entropy(logits, probs, torch.ones(2, 3, 3))


def test_mse_consistency():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 2, 2)
    probs, _ = _probs()
    assert torch.allclose(
        mse_consistency(logits, probs),
        F.mse_loss(torch.softmax(logits, 1), probs))
    w = torch.tensor([1.0, 0.0]).view(2, 1, 1).expand(2, 2, 2)
    expected = ((torch.softmax(logits, 1) - probs)**2)[0].sum() / 24
    assert torch.allclose(mse_consistency(logits, probs, w), expected)


# ------------------------------------------------- distribution alignment
def test_distribution_alignment_soft_values():
    da = MODELS.build(
        dict(type='DistributionAlignment', num_classes=2,
             target_dist=[1.0, 1.0], momentum=0.9, stat='soft', eps=0.0))
    assert torch.allclose(da.target_dist, torch.tensor([0.5, 0.5]))
    p1 = torch.tensor([0.8, 0.2]).view(1, 2, 1, 1).expand(2, 2, 3, 3)
    out = da(p1)
    # first batch initialises the running estimate: ratio 0.5/0.8, 0.5/0.2
    assert torch.allclose(da.running_dist, torch.tensor([0.8, 0.2]))
    assert torch.allclose(out, torch.full_like(out, 0.5))
    p2 = torch.tensor([0.6, 0.4]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    out = da(p2)
    running = 0.9 * torch.tensor([0.8, 0.2]) + 0.1 * torch.tensor([0.6, 0.4])
    assert torch.allclose(da.running_dist, running)  # [0.78, 0.22]
    q = torch.tensor([0.6, 0.4]) * 0.5 / running
    q = q / q.sum()
    assert torch.allclose(out[0, :, 0, 0], q)
    assert torch.allclose(out.sum(1), torch.ones(1, 2, 2))
    # no update: running estimate unchanged
    before = da.running_dist.clone()
    da(p1, update=False)
    assert torch.equal(da.running_dist, before)


def test_distribution_alignment_hard_stat_and_checkpoint():
    da = DistributionAlignment(num_classes=3, target_dist=[0.5, 0.25, 0.25])
    probs, _ = _probs()  # argmax counts: class 0: 2, class 1: 3, class 2: 3
    da.update(probs)
    assert torch.allclose(da.running_dist, torch.tensor([2., 3., 3.]) / 8)
    assert bool(da.initialized)
    sd = da.state_dict()
    assert set(sd) == {'target_dist', 'running_dist', 'initialized'}
    da2 = DistributionAlignment(num_classes=3)
    da2.load_state_dict(sd)
    assert torch.equal(da2.running_dist, da.running_dist)
    assert torch.equal(da2.target_dist, da.target_dist)
    assert bool(da2.initialized)
    # aligned probabilities favour the under-predicted class 0
    out = da2.align(probs)
    assert torch.allclose(out.sum(1), torch.ones(2, 2, 2))
    assert (out[:, 0] > probs[:, 0]).all()


def test_class_distribution_and_errors():
    labels = torch.tensor([[0, 0, 1, 255], [2, 2, 2, 255]])
    dist = DistributionAlignment.class_distribution(labels, 3)
    assert torch.allclose(dist, torch.tensor([2., 1., 3.]) / 6)
    with pytest.raises(ValueError, match='no valid'):
        DistributionAlignment.class_distribution(torch.full((2, ), 255), 3)
    with pytest.raises(ValueError, match='num_classes=3'):
        DistributionAlignment(num_classes=3, target_dist=[1.0, 1.0])
    with pytest.raises(ValueError, match='momentum'):
        DistributionAlignment(momentum=1.0)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        DistributionAlignment(num_classes=3)(torch.ones(1, 2, 2, 2))
