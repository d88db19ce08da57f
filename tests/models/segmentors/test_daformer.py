"""DAFormer: the decoder (shapes, structure, parameter count), the
thing-class ImageNet feature distance (hand-computed cases), the DAFormer
segmentor's training step, its configs, and end-to-end runs through
tools/train.py (toy data), DDP and exact resume."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmda.models.losses.feature_distance import (downscale_label_ratio,
                                                 masked_feature_distance,
                                                 thing_class_mask)
from mmda.registry import MODELS
from mmda.utils import register_all_modules
from tests.helpers import ROOT

register_all_modules(init_default_scope=True)
torch.set_num_threads(1)

MITB5_CHANNELS = [64, 128, 320, 512]


def b5_head(**kw):
    cfg = dict(
        type='DAFormerHead', in_channels=MITB5_CHANNELS, in_index=[0, 1, 2, 3],
        channels=256, dilations=(1, 6, 12, 18), dropout_ratio=0.1,
        num_classes=19, norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False)
    cfg.update(kw)
    return MODELS.build(cfg)


def b5_features(B=2, size=64):
    """MiT-B5-shaped features of a ``size`` x ``size`` image (strides 4-32)."""
    g = torch.Generator().manual_seed(0)
    return [torch.randn(B, c, size // s, size // s, generator=g)
            for c, s in zip(MITB5_CHANNELS, (4, 8, 16, 32))]


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# ------------------------------------------------------------------ decoder
def test_head_output_shape_is_stride_4_logits():
    head = b5_head()
    out = head(b5_features(B=2, size=128))
    assert out.shape == (2, 19, 32, 32)


def test_head_parameter_count_matches_hand_computation():
    """MiT-B5 inputs, C_e = 256, 19 classes (DAFormer paper Sec. 3.2; the
    authors' daformer_sepaspp_mitb5.py). Counted by hand:

    embeddings (1x1, bias, no norm): (64+128+320+512)*256 + 4*256 = 263,168
    fusion input 4*256 = 1024 channels:
      rate 1 (1x1 conv, no bias, BN): 1024*256 + 2*256        =   262,656
      rates 6, 12, 18 (depthwise 3x3 + BN, pointwise 1x1 + BN):
        3 * (1024*9 + 2*1024 + 1024*256 + 2*256)               =   821,760
      bottleneck 3x3 4*256 -> 256, BN: 1024*256*9 + 2*256      = 2,359,808
    classifier 256 -> 19 (+bias): 256*19 + 19                  =     4,883
    total                                                      = 3,712,275
    """
    head = b5_head()
    assert n_params(head.embed_layers) == 263168
    assert n_params(head.fusion_branches[0]) == 262656
    assert sum(n_params(b) for b in list(head.fusion_branches)[1:]) == 821760
    assert n_params(head.fusion_bottleneck) == 2359808
    assert n_params(head.conv_seg) == 4883
    assert n_params(head) == 3712275


def test_head_fusion_structure():
    head = b5_head()
    # per-level linear 1x1 embeddings (no norm, no activation)
    assert len(head.embed_layers) == 4
    for e, c in zip(head.embed_layers, MITB5_CHANNELS):
        assert isinstance(e, ConvModule)
        assert e.conv.kernel_size == (1, 1) and e.conv.in_channels == c
        assert e.conv.out_channels == 256
        assert not e.with_norm and not e.with_activation
    # rate 1: a 1x1 conv; rates 6, 12, 18: depthwise-separable dilated 3x3
    branches = head.fusion_branches
    assert len(branches) == 4
    assert isinstance(branches[0], ConvModule)
    assert branches[0].conv.kernel_size == (1, 1)
    for branch, rate in zip(list(branches)[1:], (6, 12, 18)):
        assert isinstance(branch, DepthwiseSeparableConvModule)
        dw = branch.depthwise_conv.conv
        assert dw.kernel_size == (3, 3) and dw.groups == 1024
        assert dw.dilation == (rate, rate) and dw.padding == (rate, rate)
        pw = branch.pointwise_conv.conv
        assert pw.kernel_size == (1, 1) and pw.in_channels == 1024 \
            and pw.out_channels == 256
        assert isinstance(branch.depthwise_conv.bn, nn.BatchNorm2d)
    assert head.fusion_bottleneck.conv.kernel_size == (3, 3)
    assert head.fusion_bottleneck.conv.in_channels == 4 * 256
    # the dense-ASPP ablation has the same branches without separation
    dense = b5_head(separable=False)
    assert isinstance(dense.fusion_branches[1], ConvModule)
    assert dense.fusion_branches[1].conv.dilation == (6, 6)
    assert n_params(dense) > n_params(head)


def test_head_concatenates_upsampled_embeddings_in_level_order():
    head = b5_head().eval()
    feats = b5_features(B=1, size=64)
    x = head.embed_and_concat(feats)
    assert x.shape == (1, 1024, 16, 16)
    # level 0 is not resized; level 3 is its embedding upsampled bilinearly
    assert torch.allclose(x[:, :256], head.embed_layers[0](feats[0]))
    e3 = head.embed_layers[3](feats[3])
    up = nn.functional.interpolate(e3, size=(16, 16), mode='bilinear',
                                   align_corners=False)
    assert torch.allclose(x[:, 768:], up, atol=1e-6)
    # the fusion reduces the 4 * C_e concatenation back to C_e channels
    with torch.no_grad():
        fused = head.fuse(x)
    assert fused.shape == (1, 256, 16, 16)


def test_head_rejects_bad_arguments():
    with pytest.raises(ValueError, match='input_transform'):
        b5_head(input_transform='resize_concat')
    with pytest.raises(ValueError, match='dilations'):
        b5_head(dilations=())
    with pytest.raises(ValueError, match='embed_dims'):
        b5_head(embed_dims=[256, 256])


# --------------------------------------------------------- feature distance
def test_downscale_label_ratio_hand_case():
    # 4x4 label, patches of 2x2:
    # top-left: 4x car(13) -> 13; top-right: 3x person(11) + road -> 11
    # (ratio 0.75 >= 0.75); bottom-left: 2 car + 2 road -> ignored (0.5);
    # bottom-right: 3x ignore + road -> ignore wins -> 255
    lab = torch.tensor([[13, 13, 11, 11],
                        [13, 13, 11, 0],
                        [13, 0, 255, 255],
                        [13, 0, 255, 0]])[None, None]
    out = downscale_label_ratio(lab, 2, 0.75, 19)
    assert out.tolist() == [[[[13, 11], [255, 255]]]]
    # a lower ratio keeps the tie's first class (car 13 vs road 0: the max of
    # equal shares is the lower index, road)
    out = downscale_label_ratio(lab, 2, 0.5, 19)
    assert out[0, 0, 1, 0].item() == 0


def test_thing_mask_and_distance_hand_case():
    lab = torch.tensor([[13, 13, 11, 11],
                        [13, 13, 11, 0],
                        [0, 0, 2, 2],
                        [0, 0, 2, 2]])[None, None]
    mask = thing_class_mask(lab, (2, 2), (6, 7, 11, 12, 13, 14, 15, 16, 17,
                                          18), 0.75, 19)
    assert mask.tolist() == [[[True, True], [False, False]]]
    # features: distances at the four positions are 5, 13, 1, 2
    f = torch.zeros(1, 2, 2, 2)
    f[0, :, 0, 0] = torch.tensor([3., 4.])
    f[0, :, 0, 1] = torch.tensor([5., 12.])
    f[0, :, 1, 0] = torch.tensor([1., 0.])
    f[0, :, 1, 1] = torch.tensor([0., 2.])
    ref = torch.zeros_like(f)
    assert masked_feature_distance(f, ref, mask).item() == pytest.approx(9.0)
    assert masked_feature_distance(f, ref).item() == pytest.approx(21 / 4)
    # all classes (thing_classes=None): every position
    assert thing_class_mask(lab, (2, 2), None, 0.75, 19).all()


def test_empty_mask_gives_zero_loss_and_zero_gradient():
    f = torch.randn(1, 3, 2, 2, requires_grad=True)
    mask = torch.zeros(1, 2, 2, dtype=torch.bool)
    loss = masked_feature_distance(f, torch.zeros(1, 3, 2, 2), mask)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(f.grad, torch.zeros_like(f))


def test_zero_distance_has_finite_gradient():
    """At the first iteration the student equals the ImageNet copy."""
    f = torch.randn(1, 3, 2, 2, requires_grad=True)
    loss = masked_feature_distance(f, f.detach().clone())
    loss.backward()
    assert torch.isfinite(f.grad).all()


def test_feature_distance_rejects_bad_input():
    with pytest.raises(ValueError, match='shapes differ'):
        masked_feature_distance(torch.zeros(1, 2, 2, 2), torch.zeros(1, 3, 2,
                                                                    2))
    with pytest.raises(ValueError, match='label values'):
        downscale_label_ratio(torch.full((1, 1, 4, 4), 40), 2, 0.75, 19)
    with pytest.raises(ValueError, match='integer multiple'):
        thing_class_mask(torch.zeros(1, 1, 6, 6), (4, 4), (13, ), 0.75, 19)


# ----------------------------------------------------------- the segmentor
H, W = 64, 128


def tiny_segmentor(drop_path=0.0):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'mit_tiny_daformer.py'))
    seg = cfg.model.to_dict()
    seg['backbone']['drop_path_rate'] = drop_path
    return seg


def build_daformer(**kwargs):
    cfg = dict(type='DAFormer', segmentor=tiny_segmentor(), teacher=True,
               pseudo_label=dict(mode='none'))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_batch(B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    lab = torch.zeros(B, H, W, dtype=torch.long)
    lab[:, :32] = 10  # sky
    lab[:, 32:, :64] = 13  # car: 32x64 -> two full 32x32 thing patches
    lab[:, 32:, 64:] = 0  # road
    samples = []
    for b in range(B):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab[b][None])
        s.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W),
                            pad_shape=(H, W)))
        samples.append(s)
    tgt = []
    for b in range(B):
        s = SegDataSample()
        s.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W),
                            pad_shape=(H, W)))
        tgt.append(s)
    imgs = torch.randint(0, 255, (B, 3, H, W), generator=g, dtype=torch.uint8)
    timgs = torch.randint(0, 255, (B, 3, H, W), generator=g,
                          dtype=torch.uint8)
    return dict(inputs=list(imgs), data_samples=samples,
                target_inputs=list(timgs), target_data_samples=tgt)


def test_frozen_imagenet_encoder_is_the_initialised_student_backbone():
    model = build_daformer()
    s = model.student_module.backbone.state_dict()
    t = model.imnet_backbone.state_dict()
    assert s.keys() == t.keys()
    assert all(torch.equal(s[k], t[k]) for k in s)
    assert not any(p.requires_grad for p in model.imnet_backbone.parameters())
    model.train()
    assert not model.imnet_backbone.training
    assert model.student.training


def test_source_loss_adds_hand_checked_feature_distance():
    model = build_daformer()
    model.train()
    # move the student away from its ImageNet copy
    with torch.no_grad():
        for p in model.student_module.backbone.parameters():
            p.add_(0.05 * torch.randn_like(p))
    data = model.data_preprocessor(make_batch(), True)
    img, samples = data['inputs'], data['data_samples']
    losses = model.source_losses(img, samples)
    fd = losses['loss_imnet_feat_dist']
    # by hand: last stage (stride 32) of 64x128 -> 2x4; the car fills the
    # patches (1, 0) and (1, 1) of every image
    with torch.no_grad():
        f = model.student_module.backbone(img)[-1]
        r = model.imnet_backbone(img)[-1]
        d = (f - r).pow(2).sum(1).sqrt()  # (B, 2, 4)
        expected = 0.005 * d[:, 1, :2].mean()
    assert fd.item() == pytest.approx(expected.item(), rel=1e-5)
    assert losses['fd_mask_ratio'].item() == pytest.approx(2 / 8)
    # the FD gradient reaches the student encoder, not the frozen copy
    fd.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student_module.backbone.parameters())
    assert all(p.grad is None for p in model.imnet_backbone.parameters())


def test_feature_distance_off_is_dacs_source_loss():
    model = build_daformer(feature_dist=None)
    assert model.imnet_backbone is None
    data = model.data_preprocessor(make_batch(), True)
    losses = model.source_losses(data['inputs'], data['data_samples'])
    assert not any('feat_dist' in k for k in losses)


def test_train_step_logs_fd_and_keeps_imagenet_copy_fixed():
    model = build_daformer()
    model.train()
    before = {k: v.clone() for k, v in model.imnet_backbone.state_dict()
              .items()}
    teacher_before = {k: v.clone() for k, v in
                      model.teacher_module.state_dict().items()}
    optim = OptimWrapper(torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3))
    for i in range(2):
        logs = model.train_step(make_batch(seed=i), optim)
    assert 'src.loss_imnet_feat_dist' in logs and 'src.loss_ce' in logs
    assert 'mix.loss_ce' in logs
    assert all(torch.isfinite(v).all() for v in logs.values())
    after = model.imnet_backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # the teacher moves only through EMATeacherHook, not the step
    t = model.teacher_module.state_dict()
    assert all(torch.equal(teacher_before[k], t[k]) for k in teacher_before)
    # the student did move, and its encoder left the ImageNet copy
    s = model.student_module.backbone.state_dict()
    assert any(not torch.equal(s[k], after[k]) for k in s)


def test_feature_dist_config_errors():
    with pytest.raises(KeyError, match='unknown keys'):
        build_daformer(feature_dist=dict(lambda_fd=0.1))
    with pytest.raises(ValueError, match='thing_classes'):
        build_daformer(feature_dist=dict(thing_classes=[25]))


def test_missing_pretrained_checkpoint_names_file_and_command(tmp_path):
    seg = tiny_segmentor()
    missing = str(tmp_path / 'mit_b5_mmseg.pth')
    seg['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint=missing)
    model = MODELS.build(dict(type='DAFormer', segmentor=seg, teacher=True))
    with pytest.raises(FileNotFoundError) as e:
        model.init_weights()
    msg = str(e.value)
    assert missing in msg and 'mit2mmseg.py' in msg
    assert 'init_cfg.checkpoint' in msg


# ------------------------------------------------------------------ configs
def _cfg(rel):
    return Config.fromfile(osp.join(ROOT, rel))


@pytest.mark.parametrize('rel', ['configs/daformer/gta2city.py',
                                 'configs/daformer/synthia2city.py'])
def test_real_configs_hold_the_papers_values(rel):
    cfg = _cfg(rel)
    m = cfg.model
    assert m.type == 'DAFormer'
    seg = m.segmentor
    assert seg.backbone.type == 'MixVisionTransformer'
    assert seg.backbone.num_layers == [3, 6, 40, 3]  # MiT-B5
    assert seg.backbone.embed_dims == 64
    assert seg.backbone.init_cfg.checkpoint == 'checkpoints/mit_b5_mmseg.pth'
    assert seg.decode_head.type == 'DAFormerHead'
    assert tuple(seg.decode_head.dilations) == (1, 6, 12, 18)
    assert seg.decode_head.channels == 256
    assert m.pseudo_label.threshold == 0.968
    assert m.pseudo_label.mode == 'threshold_uniform'
    assert m.mix.type == 'ClassMix'
    assert m.feature_dist.loss_weight == 0.005
    assert list(m.feature_dist.thing_classes) == [6, 7, 11, 12, 13, 14, 15,
                                                  16, 17, 18]
    assert m.feature_dist.min_ratio == 0.75
    assert m.strong_aug.color_jitter_s == 0.2
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == 6e-5
    assert opt.optimizer.weight_decay == 0.01
    assert opt.paramwise_cfg.custom_keys['head'].lr_mult == 10.0
    assert cfg.train_cfg.max_iters == 40000
    ema = [h for h in cfg.custom_hooks if h.type == 'EMATeacherHook']
    assert ema and ema[0].alpha == 0.999
    dl = cfg.train_dataloader
    assert dl.batch_size == 2
    assert dl.dataset.rare_class_sampling.class_temp == 0.01
    assert seg.data_preprocessor.size == (512, 512)
    crops = [t for t in dl.dataset.source.pipeline if t.type == 'RandomCrop']
    assert crops and tuple(crops[0].crop_size) == (512, 512)


def test_schedule_is_warmup_times_poly():
    """lr(i) = 6e-5 * warmup(i) * (1 - i/40000), warmup linear from 1e-6
    to 1 over 1500 iterations (mmcv's poly + linear warm-up, the authors'
    poly10warm.py)."""
    from mmengine.optim.scheduler import LinearLR, PolyLR
    cfg = _cfg('configs/daformer/gta2city.py')
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=6e-5)
    scheds = []
    for s in cfg.param_scheduler:
        s = dict(s)
        t = s.pop('type')
        scheds.append({'LinearLR': LinearLR, 'PolyLR': PolyLR}[t](opt, **s))
    lrs = {}
    for i in range(3001):
        lrs[i] = opt.param_groups[0]['lr']
        opt.step()
        for s in scheds:
            s.step()

    def ref(i):
        warm = 1.0 if i >= 1500 else 1e-6 + (1 - 1e-6) * i / 1500
        return 6e-5 * warm * (1 - i / 40000)

    for i in (0, 1, 750, 1499, 1500, 1501, 3000):
        assert lrs[i] == pytest.approx(ref(i), rel=1e-5, abs=1e-15), i


def test_real_model_decoder_parameter_count():
    """The MiT-B5 model of the real configs builds (without its ImageNet
    weights) and its decoder is the 3.71 M-parameter DAFormer head."""
    cfg = _cfg('configs/daformer/gta2city.py')
    seg = cfg.model.segmentor.to_dict()
    seg['backbone']['init_cfg'] = None
    model = MODELS.build(seg)
    assert n_params(model.decode_head) == 3712275
    out = model(torch.zeros(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 19, 16, 16)


# ------------------------------------ end to end: tools/train.py, resume, DDP
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_toy_daformer_trains_and_resumes_exactly(tmp_path):
    """tools/train.py on the toy data: 4 uninterrupted iterations equal
    2 + resume + 2 (weights incl. the frozen ImageNet copy, optimizer,
    counters, schedulers)."""
    from tests.integration.test_resume_methods import _flat, assert_same, train
    cfg = 'configs/daformer/toy_daformer.py'
    full, half = tmp_path / 'full', tmp_path / 'half'
    out = train(cfg, full, 4, [])
    assert 'src.loss_imnet_feat_dist' in out and 'mix.loss_ce' in out
    train(cfg, half, 2, [])
    out = train(cfg, half, 4, [], resume=str(half / 'iter_2.pth'))
    assert 'resumed' in out.lower()
    a = torch.load(full / 'iter_4.pth', map_location='cpu', weights_only=True)
    b = torch.load(half / 'iter_4.pth', map_location='cpu', weights_only=True)
    for p in ('student.', 'teacher.', 'imnet_backbone.'):
        assert any(k.startswith(p) for k in a['state_dict']), p
    for c in ('ema_step', 'uda_iter'):
        assert int(a['state_dict'][c]) == int(b['state_dict'][c]) == 4
    assert_same(a, b)
    assert _flat(a.get('param_schedulers')) == _flat(
        b.get('param_schedulers'))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_toy_daformer_ddp_ranks_in_sync(tmp_path):
    from tests.integration.test_ddp_methods import assert_ranks_in_sync, dist_train, make_cfg
    cfg = make_cfg('configs/daformer/toy_daformer.py', str(tmp_path))
    proc = dist_train(cfg, tmp_path, 29631, timeout=500)
    s0, _, _ = assert_ranks_in_sync(
        tmp_path, proc, 'MMSeparateDistributedDataParallel',
        ('student.', 'teacher.', 'imnet_backbone.'))
    assert int(s0['state_dict']['ema_step']) == 2
