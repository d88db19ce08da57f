"""Tests of tools/model_converters/{deeplabv2_coco,vgg16_torchvision}.py."""
import copy
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.runner import load_checkpoint

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


def _load_tool(name):
    path = osp.join(ROOT, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'mmda_tool_{name}', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


dlv2_conv = _load_tool('deeplabv2_coco')
vgg_conv = _load_tool('vgg16_torchvision')


# --------------------------------------------------------------------------
# Reference: DeepLab-v2 ResNet-101 of AdaptSegNet/DACS (model/deeplab.py),
# written compactly but with the same layout, module names and forward.
# --------------------------------------------------------------------------
class RefBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1,
                 downsample=None):
        super().__init__()
        # stride on the first 1x1 conv (Caffe)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, affine=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, affine=True)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, affine=True)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class RefClassifier(nn.Module):

    def __init__(self, dilation_series, padding_series, num_classes,
                 buggy=False):
        super().__init__()
        self.buggy = buggy
        self.conv2d_list = nn.ModuleList([
            nn.Conv2d(2048, num_classes, 3, stride=1, padding=p, dilation=d,
                      bias=True)
            for d, p in zip(dilation_series, padding_series)
        ])

    def forward(self, x):
        out = self.conv2d_list[0](x)
        for i in range(len(self.conv2d_list) - 1):
            out = out + self.conv2d_list[i + 1](x)
            if self.buggy:  # the `return` inside the loop of the repos
                return out
        return out


class RefResDeeplab(nn.Module):

    def __init__(self, num_classes, layers=(3, 4, 23, 3), buggy=False):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, affine=True)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=1, dilation=2)
        self.layer4 = self._make_layer(512, layers[3], stride=1, dilation=4)
        self.layer5 = RefClassifier([6, 12, 18, 24], [6, 12, 18, 24],
                                    num_classes, buggy=buggy)

    def _make_layer(self, planes, blocks, stride=1, dilation=1):
        downsample = None
        if (stride != 1 or self.inplanes != planes * 4 or dilation == 2
                or dilation == 4):
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride,
                          bias=False),
                nn.BatchNorm2d(planes * 4, affine=True))
        layers = [RefBottleneck(self.inplanes, planes, stride, dilation,
                                downsample)]
        self.inplanes = planes * 4
        layers += [RefBottleneck(self.inplanes, planes, dilation=dilation)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.layer5(x)


@pytest.fixture(scope='module')
def ref_state():
    """A random 'Scale.'-prefixed checkpoint of the reference network."""
    torch.manual_seed(0)
    ref = RefResDeeplab(num_classes=3)
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):  # non-trivial BN statistics
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    sd = OrderedDict(('Scale.' + k, v) for k, v in ref.state_dict().items()
                     if not k.endswith('num_batches_tracked'))  # old format
    return sd


def _build_coco_model(dilations=None, num_classes=3):
    cfg = Config.fromfile(osp.join(CFG_DIR, 'deeplabv2_r101_coco.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.decode_head.num_classes = num_classes
    if dilations is not None:
        cfg.model.decode_head.dilations = dilations
    return MODELS.build(cfg.model).eval()


def _ref_model(sd, buggy):
    ref = RefResDeeplab(num_classes=3, buggy=buggy)
    missing, unexpected = ref.load_state_dict(
        OrderedDict((k[len('Scale.'):], v) for k, v in sd.items()),
        strict=False)
    assert unexpected == [] and all(
        k.endswith('num_batches_tracked') for k in missing)
    return ref.eval()


@pytest.mark.parametrize('dilations,buggy', [((6, 12, 18, 24), False),
                                             ((6, 12), True)])
def test_deeplabv2_coco_conversion_matches_reference(ref_state, dilations,
                                                     buggy):
    n_convs = len(dilations)
    converted = dlv2_conv.convert_deeplabv2_coco(
        ref_state, num_head_convs=n_convs)
    model = _build_coco_model(dilations)
    # loads strictly: exactly the model's parameters and buffers
    model.load_state_dict(converted, strict=True)
    ref = _ref_model(ref_state, buggy)
    torch.manual_seed(1)
    x = torch.randn(1, 3, 65, 65)
    with torch.no_grad():
        expected = ref(x)
        feats = model.backbone(x)
        out = model.decode_head(feats)
    assert feats[0].shape == (1, 2048, 9, 9)
    assert out.shape == expected.shape == (1, 3, 9, 9)
    assert expected.abs().max() > 1e-2  # not a trivial all-zero comparison
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_ceil_mode_and_caffe_stride_matter(ref_state):
    """With torchvision's floor-mode pool or pytorch-style strides the same
    weights give another output: both config options are needed."""
    converted = dlv2_conv.convert_deeplabv2_coco(ref_state)
    ref = _ref_model(ref_state, buggy=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = ref(x)
    assert expected.shape[-2:] == (9, 9)  # ceil-mode stem pool: 17 -> 9

    model = _build_coco_model((6, 12, 18, 24))
    model.backbone.maxpool.ceil_mode = False
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        assert model.decode_head(model.backbone(x)).shape[-2:] == (8, 8)

    cfg = Config.fromfile(osp.join(CFG_DIR, 'deeplabv2_r101_coco.py'))
    cfg.model.backbone.update(init_cfg=None, style='pytorch')
    cfg.model.decode_head.update(num_classes=3, dilations=(6, 12, 18, 24))
    model = MODELS.build(cfg.model).eval()
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        out = model.decode_head(model.backbone(x))
    assert out.shape == expected.shape
    assert (out - expected).abs().max() > 1e-3


def test_deeplabv2_coco_prefixless_and_drop_head(ref_state):
    plain = OrderedDict((k[len('Scale.'):], v) for k, v in ref_state.items())
    a = dlv2_conv.convert_deeplabv2_coco(ref_state)
    b = dlv2_conv.convert_deeplabv2_coco(plain)
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(a['decode_head.aspp_convs.3.weight'],
                       ref_state['Scale.layer5.conv2d_list.3.weight'])
    assert torch.equal(a['backbone.layer4.2.bn3.running_mean'],
                       ref_state['Scale.layer4.2.bn3.running_mean'])
    assert a['backbone.layer3.22.bn1.num_batches_tracked'].item() == 0
    no_head = dlv2_conv.convert_deeplabv2_coco(ref_state, num_head_convs=0)
    assert not any(k.startswith('decode_head') for k in no_head)
    with pytest.raises(ValueError, match='num-head-convs must be in 0..4'):
        dlv2_conv.convert_deeplabv2_coco(ref_state, num_head_convs=5)


def test_deeplabv2_coco_rejects_other_layouts(ref_state):
    bad = copy.copy(ref_state)
    del bad['Scale.layer3.22.bn2.running_var']
    bad['Scale.fc.weight'] = torch.zeros(1)
    with pytest.raises(ValueError) as err:
        dlv2_conv.convert_deeplabv2_coco(bad, src='bad.pth')
    msg = str(err.value)
    assert 'bad.pth' in msg
    assert 'Missing keys (1): layer3.22.bn2.running_var' in msg
    assert 'Unexpected keys (1): fc.weight' in msg
    # a ResNet-50 (too few blocks) is refused too
    r50 = {
        k: v
        for k, v in ref_state.items()
        if not any(k.startswith(f'Scale.layer3.{i}.') for i in range(6, 23))
    }
    with pytest.raises(ValueError, match='Missing keys'):
        dlv2_conv.convert_deeplabv2_coco(r50)


def test_deeplabv2_coco_cli(ref_state, tmp_path):
    src, dst = tmp_path / 'init.pth', tmp_path / 'out.pth'
    torch.save(ref_state, src)
    dlv2_conv.main([str(src), str(dst), '--num-head-convs', '2'])
    model = _build_coco_model((6, 12))
    load_checkpoint(model, str(dst), strict=True)
    assert torch.equal(model.backbone.conv1.weight,
                       ref_state['Scale.conv1.weight'])
    assert torch.equal(model.decode_head.aspp_convs[1].bias,
                       ref_state['Scale.layer5.conv2d_list.1.bias'])
    # the backbone-only init of the config (prefix='backbone.') also works
    cfg = Config.fromfile(osp.join(CFG_DIR, 'deeplabv2_r101_coco.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(dst)
    cfg.model.decode_head.num_classes = 19
    model19 = MODELS.build(cfg.model)
    model19.init_weights()
    assert torch.equal(model19.backbone.layer4[2].bn3.running_var,
                       ref_state['Scale.layer4.2.bn3.running_var'])
    # errors name the file
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        dlv2_conv.main([str(tmp_path / 'missing.pth'), str(dst)])
    junk = tmp_path / 'junk.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7)}, junk)
    with pytest.raises(ValueError, match='junk.pth is not a DeepLab-v2'):
        dlv2_conv.main([str(junk), str(dst)])


# --------------------------------------------------------------------------
# VGG16 from torchvision
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tv_vgg16():
    torchvision = pytest.importorskip('torchvision')
    torch.manual_seed(0)
    return torchvision.models.vgg16(weights=None).eval()


def _build_vgg(cfg_name):
    cfg = Config.fromfile(osp.join(CFG_DIR, cfg_name))
    bb = copy.deepcopy(cfg.model.backbone)
    bb.init_cfg = None
    return MODELS.build(bb).eval()


def test_vgg16_fcn_conversion_matches_torchvision(tv_vgg16):
    sd = vgg_conv.convert_vgg16_torchvision(tv_vgg16.state_dict(), fc='fcn')
    backbone = _build_vgg('fcn8s_vgg16.py')
    backbone.load_state_dict(sd, strict=True)
    torch.manual_seed(2)
    x = torch.randn(1, 3, 64, 96)
    feats = tv_vgg16.features
    with torch.no_grad():
        pool3, pool4, _ = backbone(x)
        torch.testing.assert_close(pool3, feats[:17](x), rtol=1e-5,
                                   atol=1e-6)
        torch.testing.assert_close(pool4, feats[:24](x), rtol=1e-5,
                                   atol=1e-6)
        backbone.out_indices = (4, )
        (pool5, ) = backbone(x)
        torch.testing.assert_close(pool5, feats(x), rtol=1e-5, atol=1e-6)
        # fc6/fc7 as convolutions = torchvision's classifier on a 7x7 pool5
        p5 = torch.randn(1, 512, 7, 7)
        fc7 = backbone.fc7_relu(backbone.fc7(backbone.fc6_relu(
            backbone.fc6(p5))))
        expected = tv_vgg16.classifier[:5](p5.flatten(1))
    assert fc7.shape == (1, 4096, 7, 7)
    torch.testing.assert_close(fc7[:, :, 3, 3], expected, rtol=1e-4,
                               atol=1e-5)


def test_vgg16_deeplab_conversion(tv_vgg16):
    tv_sd = tv_vgg16.state_dict()
    sd = vgg_conv.convert_vgg16_torchvision(tv_sd, fc='deeplab')
    w6 = tv_sd['classifier.0.weight'].view(4096, 512, 7, 7)
    assert sd['fc6.weight'].shape == (1024, 512, 3, 3)
    # decimation: filter 4i, taps (3a, 3b)
    assert torch.equal(sd['fc6.weight'][5, 7, 1, 2], w6[20, 7, 3, 6])
    assert torch.equal(sd['fc6.bias'][5], tv_sd['classifier.0.bias'][20])
    assert torch.equal(sd['fc7.weight'][3, 10, 0, 0],
                       tv_sd['classifier.3.weight'][12, 40])
    backbone = _build_vgg('deeplabv2_vgg16.py')
    backbone.load_state_dict(sd, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        backbone.out_indices = (2, )
        (pool3, ) = backbone(x)
        torch.testing.assert_close(pool3, tv_vgg16.features[:17](x),
                                   rtol=1e-5, atol=1e-6)
    none = vgg_conv.convert_vgg16_torchvision(tv_sd, fc='none')
    assert set(none) == {k for k in sd if k.startswith('features.')}


def test_vgg16_converter_errors_and_cli(tv_vgg16, tmp_path):
    tv_sd = tv_vgg16.state_dict()
    no_cls = {k: v for k, v in tv_sd.items() if k.startswith('features.')}
    with pytest.raises(ValueError, match=r'Missing keys \(4\): classifier.0'):
        vgg_conv.convert_vgg16_torchvision(no_cls, fc='fcn', src='x.pth')
    assert len(vgg_conv.convert_vgg16_torchvision(no_cls, fc='none')) == 26
    bn = dict(no_cls)
    bn['features.1.running_mean'] = torch.zeros(64)
    with pytest.raises(ValueError, match='vgg16_bn is not supported'):
        vgg_conv.convert_vgg16_torchvision(bn, fc='none')
    with pytest.raises(ValueError, match='fc must be one of'):
        vgg_conv.convert_vgg16_torchvision(tv_sd, fc='large')
    src, dst = tmp_path / 'vgg16.pth', tmp_path / 'vgg16_mmda.pth'
    torch.save(no_cls, src)
    vgg_conv.main([str(src), str(dst), '--fc', 'none'])
    backbone = _build_vgg('deeplabv2_vgg16.py')
    load_checkpoint(backbone, str(dst), strict=False)
    assert torch.equal(backbone.features[28].weight,
                       tv_sd['features.28.weight'])
    with pytest.raises(ValueError, match='vgg16.pth is not a torchvision'):
        vgg_conv.main([str(src), str(dst), '--fc', 'deeplab'])


def test_vgg16_pretrained_init_cfg(tv_vgg16, tmp_path):
    """The config's backbone init_cfg loads a converted file."""
    tv_sd = tv_vgg16.state_dict()
    dst = tmp_path / 'vgg16_deeplab.pth'
    torch.save(dict(state_dict=vgg_conv.convert_vgg16_torchvision(
        tv_sd, fc='deeplab')), dst)
    cfg = Config.fromfile(osp.join(CFG_DIR, 'deeplabv2_vgg16.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(dst)
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    assert torch.equal(backbone.features[0].weight, tv_sd['features.0.weight'])
    assert torch.equal(
        backbone.fc7.weight[:, :, 0, 0],
        tv_sd['classifier.3.weight'][::4, ::4])
