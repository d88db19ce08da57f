"""Tests of mmda's segmentation models: DLV2Head, FCN8sHead, VGG16,
DeepLabResNet and the configs in configs/_base_/models/."""
import copy
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmda.registry import MODELS
from mmda.utils import register_all_modules
from tests.helpers import ROOT

register_all_modules()


@pytest.fixture(autouse=True)
def _one_thread():
    # Two OpenMP threads on the shared 2-core machine are >10x slower than
    # one when other jobs run (spin-waiting); restore afterwards.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'models')
ALL_CONFIGS = ('deeplabv2_r101.py', 'deeplabv2_r101_coco.py',
               'deeplabv2_tiny.py', 'deeplabv2_vgg16.py', 'fcn8s_vgg16.py')


def _cfg(name):
    return Config.fromfile(osp.join(CFG_DIR, name))


def _no_pretrained(model_cfg):
    model_cfg = copy.deepcopy(model_cfg)
    model_cfg.backbone.init_cfg = None
    return model_cfg


# ----------------------------------------------------------------- DLV2Head
def _dlv2(**kwargs):
    cfg = dict(type='DLV2Head', in_channels=8, num_classes=5)
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def _manual_aspp(head, x, n):
    out = 0
    for conv, d in zip(list(head.aspp_convs)[:n], head.dilations[:n]):
        out = out + F.conv2d(x, conv.weight, conv.bias, padding=d, dilation=d)
    return out


def test_dlv2_head_is_sum_of_four_dilated_convs():
    torch.manual_seed(0)
    head = _dlv2().eval()
    assert head.dilations == (6, 12, 18, 24)
    assert not hasattr(head, 'conv_seg')
    assert sorted(k for k, _ in head.named_parameters()) == sorted(
        f'aspp_convs.{i}.{n}' for i in range(4) for n in ('weight', 'bias'))
    for conv, d in zip(head.aspp_convs, (6, 12, 18, 24)):
        assert conv.weight.shape == (5, 8, 3, 3)
        assert conv.dilation == (d, d) and conv.padding == (d, d)
        # AdaptSegNet/DACS init: N(0, 0.01) weights, zero bias
        assert 0.003 < conv.weight.std().item() < 0.02
        assert conv.bias.abs().max().item() == 0
    with torch.no_grad():
        for conv in head.aspp_convs:  # non-zero biases for the comparison
            conv.bias.normal_()
    x = torch.randn(2, 8, 13, 17)
    with torch.no_grad():
        out = head([x])
        expected = _manual_aspp(head, x, 4)
        three = _manual_aspp(head, x, 3)
    assert out.shape == (2, 5, 13, 17)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    assert (out - three).abs().max() > 1e-3  # the 4th branch contributes


def test_dlv2_head_two_rates_option():
    """``dilations=(6, 12)`` = the AdaptSegNet/DACS effective classifier."""
    torch.manual_seed(0)
    four = _dlv2().eval()
    two = _dlv2(dilations=(6, 12)).eval()
    assert len(two.aspp_convs) == 2
    two.aspp_convs.load_state_dict(
        {k: v for k, v in four.aspp_convs.state_dict().items()
         if k[0] in '01'})
    with torch.no_grad():
        for conv in four.aspp_convs:
            conv.bias.normal_()
        two.aspp_convs[0].bias.copy_(four.aspp_convs[0].bias)
        two.aspp_convs[1].bias.copy_(four.aspp_convs[1].bias)
    x = torch.randn(1, 8, 30, 30)
    with torch.no_grad():
        torch.testing.assert_close(two([x]), _manual_aspp(four, x, 2),
                                   rtol=1e-5, atol=1e-6)
        assert (two([x]) - four([x])).abs().max() > 1e-3


def test_dlv2_head_dropout_kernel_and_errors():
    torch.manual_seed(0)
    head = _dlv2(dilations=(1, ), kernel_size=1, dropout_ratio=0.5)
    conv = head.aspp_convs[0]
    assert conv.kernel_size == (1, 1) and conv.padding == (0, 0)
    x = torch.randn(2, 8, 6, 6)
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            head([x]), F.conv2d(x, conv.weight, conv.bias))
        head.train()
        torch.manual_seed(1)
        y = head([x])
        torch.manual_seed(1)
        dropped = F.dropout2d(x, 0.5, training=True)
        torch.testing.assert_close(y, F.conv2d(dropped, conv.weight,
                                               conv.bias))
    assert head.dropout.p == 0.5 and _dlv2().dropout is None
    with pytest.raises(ValueError, match='`channels` is not an argument'):
        _dlv2(channels=16)
    with pytest.raises(ValueError, match='dilations'):
        _dlv2(dilations=())
    with pytest.raises(ValueError, match='kernel_size'):
        _dlv2(kernel_size=2)
    with pytest.raises(ValueError, match='multiple_select'):
        _dlv2(in_channels=[8, 8], in_index=[0, 1],
              input_transform='multiple_select')


# ---------------------------------------------------------------- backbones
def test_resnet101_backbones_output_stride():
    x = torch.randn(1, 3, 64, 64)
    for name, size in (('deeplabv2_r101.py', 8), ('deeplabv2_r101_coco.py',
                                                  9)):
        backbone = MODELS.build(_no_pretrained(_cfg(name).model).backbone)
        backbone.eval()
        with torch.no_grad():
            (feat, ) = backbone(x)
        # output stride 8; the Caffe ceil-mode stem pool gives 17 -> 9
        assert feat.shape == (1, 2048, size, size), name
    coco = MODELS.build(_no_pretrained(_cfg('deeplabv2_r101_coco.py').model)
                        .backbone)
    assert type(coco).__name__ == 'DeepLabResNet'
    assert coco.maxpool.ceil_mode is True
    # Caffe style: the stride sits on the first 1x1 conv
    assert coco.layer2[0].conv1.stride == (2, 2)
    assert coco.layer2[0].conv2.stride == (1, 1)
    assert coco.layer4[0].conv2.dilation == (4, 4)
    assert not coco.bn1.weight.requires_grad  # frozen BN affine (their code)


def test_resnet_torchvision_layout():
    """deeplabv2_r101.py's backbone is torchvision's ResNet layout: a
    torchvision state dict loads (minus fc) and gives the same features."""
    torchvision = pytest.importorskip('torchvision')
    tv = torchvision.models.resnet50(
        weights=None, replace_stride_with_dilation=[False, True, True]).eval()
    cfg = _no_pretrained(_cfg('deeplabv2_r101.py').model).backbone
    # torchvision dilates from the second block of a stage on
    cfg.update(depth=50, contract_dilation=True)
    backbone = MODELS.build(cfg)
    backbone.eval()  # mmseg's ResNet.train() returns None
    sd = {k: v for k, v in tv.state_dict().items() if not k.startswith('fc.')}
    backbone.load_state_dict(sd, strict=True)
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        y = tv.layer4(tv.layer3(tv.layer2(tv.layer1(
            tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))))))
        (feat, ) = backbone(x)
    assert feat.shape == (1, 2048, 6, 6)
    torch.testing.assert_close(feat, y, rtol=1e-4, atol=1e-5)


def test_vgg16_shapes():
    x = torch.randn(2, 3, 64, 128)
    deeplab = MODELS.build(
        dict(type='VGG16', fc6_channels=32, fc7_channels=24,
             out_indices=(0, 1, 2, 3, 4, 5))).eval()
    assert deeplab.features[28].dilation == (2, 2)
    assert deeplab.fc6.dilation == (12, 12)
    assert deeplab.fc6.kernel_size == (3, 3)
    with torch.no_grad():
        outs = deeplab(x)
    assert [o.shape for o in outs] == [(2, 64, 32, 64), (2, 128, 16, 32),
                                       (2, 256, 8, 16), (2, 512, 8, 16),
                                       (2, 512, 8, 16), (2, 24, 8, 16)]
    fcn = MODELS.build(
        dict(type='VGG16', pool_strides=(2, 2, 2, 2, 2),
             block_dilations=(1, 1, 1, 1, 1), fc6_channels=32,
             fc6_kernel_size=7, fc6_dilation=1, fc7_channels=40,
             out_indices=(2, 3, 5))).eval()
    with torch.no_grad():
        outs = fcn(x)
    assert [o.shape for o in outs] == [(2, 256, 8, 16), (2, 512, 4, 8),
                                       (2, 40, 2, 4)]
    # dropout after fc6 only in training mode
    assert isinstance(fcn.fc6_dropout, nn.Dropout2d)
    no_fc = MODELS.build(dict(type='VGG16', with_fc=False, out_indices=(4, )))
    assert not hasattr(no_fc, 'fc6')
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build(dict(type='VGG16', with_fc=False, out_indices=(5, )))
    with pytest.raises(ValueError, match='pool_strides'):
        MODELS.build(dict(type='VGG16', pool_strides=(2, 2, 2, 3, 1)))


# --------------------------------------------------------------- FCN8sHead
def test_fcn8s_head_fusion():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='FCN8sHead', in_channels=(6, 7, 8), num_classes=3))
    head.init_weights()
    head.eval()
    # zero-initialised skip scorers, bilinear upsampling
    assert head.score_pool3.weight.abs().max() == 0
    assert head.score_pool4.weight.abs().max() == 0
    w = head.upscore2.weight
    assert torch.allclose(w[0, 0, :, 1], torch.tensor([.1875, .5625, .5625,
                                                       .1875]))
    assert w[0, 1].abs().max() == 0
    pool3 = torch.randn(1, 6, 16, 24)
    pool4 = torch.randn(1, 7, 8, 12)
    fc7 = torch.randn(1, 8, 4, 6)
    s = torch.randn(1, 3, 4, 6)
    with torch.no_grad():
        # the x2 transposed conv equals bilinear resizing away from borders
        up = head.upscore2(s)
        ref = F.interpolate(s, scale_factor=2, mode='bilinear',
                            align_corners=False)
        torch.testing.assert_close(up[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])
        for conv in (head.score_pool3, head.score_pool4):
            conv.weight.normal_()
            conv.bias.normal_()
        out = head([pool3, pool4, fc7])
        sfr = F.conv2d(fc7, head.conv_seg.weight, head.conv_seg.bias)
        fuse4 = F.conv_transpose2d(sfr, head.upscore2.weight, stride=2,
                                   padding=1) + head.score_pool4(pool4)
        expected = F.conv_transpose2d(
            fuse4, head.upscore_pool4.weight, stride=2,
            padding=1) + head.score_pool3(pool3)
    assert out.shape == (1, 3, 16, 24)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # sizes that are not multiples of 32 are resized to the skip's size
    with torch.no_grad():
        out = head([torch.randn(1, 6, 9, 13), torch.randn(1, 7, 5, 7),
                    torch.randn(1, 8, 3, 4)])
    assert out.shape == (1, 3, 9, 13)
    with pytest.raises(ValueError, match='in_channels'):
        MODELS.build(dict(type='FCN8sHead', in_channels=(6, 7),
                          num_classes=3))


# ----------------------------------------------------------------- configs
@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_configs_build(name):
    cfg = _cfg(name)
    dp = cfg.model.data_preprocessor
    if 'coco' in name:  # Caffe DeepLab weights: BGR, mean only (IMG_MEAN)
        assert dp.mean == [104.00698793, 116.66876762, 122.67891434]
        assert dp.std == [1.0, 1.0, 1.0] and not dp.bgr_to_rgb
    else:
        assert dp.mean == [123.675, 116.28, 103.53]
        assert dp.std == [58.395, 57.12, 57.375]
        assert dp.bgr_to_rgb
    assert dp.seg_pad_val == 255 and dp.pad_val == 0
    assert cfg.model.decode_head.num_classes == 19
    model = MODELS.build(_no_pretrained(cfg.model))
    model.init_weights()
    assert type(model).__name__ == 'EncoderDecoder'
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64), mode='tensor')
    # logits at stride 8 (FCN8s fuses down to pool3), 9 = Caffe ceil pool
    size = 9 if 'coco' in name else 64 // 8
    assert out.shape == (1, 19, size, size), name


def test_pretrained_init_cfgs():
    assert _cfg('deeplabv2_r101.py').model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='checkpoints/resnet101-63fe2227.pth')
    coco = _cfg('deeplabv2_r101_coco.py').model
    assert coco.backbone.init_cfg.prefix == 'backbone.'
    assert coco.decode_head.dilations == (6, 12)
    assert _cfg('deeplabv2_tiny.py').model.backbone.init_cfg is None


# -------------------------------------------------------------- tiny model
def _toy_batch(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        # a learnable toy: class = which colour dominates a 16x16 tile
        lab = torch.randint(0, 3, (4, 8), generator=g)
        lab = lab.repeat_interleave(16, 0).repeat_interleave(16, 1)
        img = torch.zeros(3, 64, 128)
        for c in range(3):
            img[c] = (lab == c).float() * 200 + 20
        img = img + torch.randn(3, 64, 128, generator=g) * 10
        inputs.append(img.clamp(0, 255).to(torch.uint8))
        lab = lab.clone()
        lab[:2] = 255  # ignored rows
        s = SegDataSample(gt_sem_seg=PixelData(data=lab[None].long()))
        s.set_metainfo(dict(img_shape=(64, 128), ori_shape=(64, 128),
                            pad_shape=(64, 128)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_tiny_model_loss_predict_and_learns():
    torch.manual_seed(0)
    model = MODELS.build(_cfg('deeplabv2_tiny.py').model)
    model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < 1_000_000
    data = model.data_preprocessor(_toy_batch(4), True)
    assert data['inputs'].shape == (4, 3, 64, 128)
    model.train()
    losses = model(**data, mode='loss')
    loss = losses['decode.loss_ce']
    assert torch.isfinite(loss) and 0.5 < loss.item() < 20
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.decode_head.parameters())
    assert model.backbone.conv1.weight.grad.abs().sum() > 0

    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    first = None
    for _ in range(25):
        opt.zero_grad()
        loss = model(**data, mode='loss')['decode.loss_ce']
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first

    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(_toy_batch(2, seed=1), False),
                      mode='predict')
    pred = preds[0].pred_sem_seg.data
    gt = preds[0].gt_sem_seg.data
    assert pred.shape == (1, 64, 128)
    valid = gt != 255
    assert (pred[valid] == gt[valid]).float().mean() > 0.6
    assert math.isclose(preds[0].seg_logits.data.shape[0], 19)
