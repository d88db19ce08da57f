"""SoftmaxFocalLoss: the SIE focal term ``ce * (1 - exp(-ce)) ** gamma``."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmda.models.losses.focal_loss import SoftmaxFocalLoss, softmax_focal_loss


def test_single_pixel_matches_hand_computed_value():
    # p(true class) = 0.8 -> ce = -log 0.8, focal = ce * 0.2 ** 3
    logits = torch.log(torch.tensor([0.8, 0.2]))[None, :, None, None]
    label = torch.tensor([[[0]]])
    loss = SoftmaxFocalLoss(gamma=3.0)(logits, label)
    expected = -math.log(0.8) * 0.2**3
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # beta = 0.1 of the paper is the loss weight
    loss = SoftmaxFocalLoss(gamma=3.0, loss_weight=0.1)(logits, label)
    assert loss.item() == pytest.approx(0.1 * expected, rel=1e-6)


def test_matches_formula_with_ignored_pixels():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, 6) * 2
    label = torch.randint(0, 5, (2, 4, 6))
    label[0, :2] = 255
    label[1, 3, 4] = 255
    logp = logits.log_softmax(1)
    valid = label != 255
    safe = label.clamp(max=4)
    ce = -logp.gather(1, safe[:, None])[:, 0]
    pt = ce.neg().exp()
    fl = (ce * (1 - pt)**3)[valid]
    # authors: mean over the non-ignored pixels
    loss = SoftmaxFocalLoss(gamma=3.0)(logits, label)
    assert loss.item() == pytest.approx(fl.mean().item(), rel=1e-5)
    # mmseg's CE default convention: divide by all pixels
    loss_all = SoftmaxFocalLoss(gamma=3.0, avg_non_ignore=False)(logits, label)
    assert loss_all.item() == pytest.approx(fl.sum().item() / label.numel(),
                                            rel=1e-5)
    none = SoftmaxFocalLoss(gamma=3.0, reduction='none')(logits, label)
    assert none.shape == label.shape
    assert torch.all(none[~valid] == 0)
    assert torch.allclose(none[valid], fl, atol=1e-6)


def test_gamma_zero_is_cross_entropy_and_focal_downweights_easy_pixels():
    from mmseg.models.losses import CrossEntropyLoss
    torch.manual_seed(1)
    logits = torch.randn(2, 19, 8, 8)
    label = torch.randint(0, 19, (2, 8, 8))
    label[:, 0] = 255
    ce = CrossEntropyLoss(avg_non_ignore=True)(logits, label, ignore_index=255)
    fl0 = SoftmaxFocalLoss(gamma=0.0)(logits, label)
    assert fl0.item() == pytest.approx(ce.item(), rel=1e-5)
    # a confident correct pixel contributes (1 - p_t) ** 3 of its CE
    easy = torch.tensor([[[[6.0]], [[0.0]]]]).reshape(1, 2, 1, 1)
    lab = torch.zeros(1, 1, 1, dtype=torch.long)
    ratio = (SoftmaxFocalLoss(gamma=3.0)(easy, lab) /
             F.cross_entropy(easy, lab))
    p_t = torch.softmax(easy, 1)[0, 0, 0, 0]
    assert ratio.item() == pytest.approx(((1 - p_t)**3).item(), rel=1e-5)


def test_class_weight_pixel_weight_and_all_ignored():
    torch.manual_seed(2)
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    label = torch.tensor([[[0, 1], [2, 255]]])
    cw = [1.0, 2.0, 0.5]
    loss = SoftmaxFocalLoss(gamma=2.0, class_weight=cw, reduction='none')(
        logits, label)
    ce = F.cross_entropy(logits, label, reduction='none', ignore_index=255)
    expected = ce * torch.tensor(cw)[label.clamp(max=2)] * \
        (1 - torch.exp(-ce))**2
    assert torch.allclose(loss, expected * (label != 255), atol=1e-6)
    weight = torch.tensor([[[0.0, 1.0], [1.0, 1.0]]])
    wl = softmax_focal_loss(logits, label, weight=weight, gamma=2.0,
                            reduction='sum')
    plain = softmax_focal_loss(logits, label, gamma=2.0, reduction='none')
    assert wl.item() == pytest.approx(plain[0, 0, 1].item() +
                                      plain[0, 1, 0].item(), rel=1e-5)
    wl.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    # everything ignored: 0, not NaN
    out = SoftmaxFocalLoss()(logits, torch.full((1, 2, 2), 255))
    assert out.item() == 0.0


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match='gamma'):
        SoftmaxFocalLoss(gamma=-1)
    with pytest.raises(ValueError, match='loss_name'):
        SoftmaxFocalLoss(loss_name='focal')
    with pytest.raises(ValueError, match='reduction'):
        SoftmaxFocalLoss(reduction='max')


def test_registered_and_used_by_a_decode_head():
    """CE + 0.1 focal as the ``loss_decode`` list of an mmseg decode head."""
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData

    from mmda.registry import MODELS
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=3.0,
                             loss_weight=0.1))
    assert isinstance(loss, SoftmaxFocalLoss)
    assert loss.loss_name == 'loss_focal'
    head = MODELS.build(
        dict(type='FCNHead', in_channels=4, channels=4, num_convs=0,
             dropout_ratio=0.0,
             concat_input=False, num_classes=3, in_index=-1,
             loss_decode=[
                 dict(type='CrossEntropyLoss', loss_weight=1.0,
                      avg_non_ignore=True, loss_name='loss_ce'),
                 dict(type='SoftmaxFocalLoss', gamma=3.0, loss_weight=0.1),
             ]))
    torch.manual_seed(0)
    feats = [torch.randn(1, 4, 4, 4)]
    gt = torch.randint(0, 3, (1, 8, 8))
    sample = SegDataSample(gt_sem_seg=PixelData(data=gt))
    sample.set_metainfo(dict(img_shape=(8, 8), pad_shape=(8, 8)))
    losses = head.loss(feats, [sample], train_cfg=dict())
    assert set(losses) >= {'loss_ce', 'loss_focal', 'acc_seg'}
    logits = F.interpolate(head.forward(feats), size=(8, 8), mode='bilinear',
                           align_corners=False)
    expected = 0.1 * softmax_focal_loss(logits, gt, gamma=3.0)
    assert losses['loss_focal'].item() == pytest.approx(expected.item(),
                                                        rel=1e-4)
