"""DACS / BaseUDASegmentor: weighted loss, teacher isolation, training step,
config switches, visualisation and a Runner run with exact resume."""
import copy
import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from tests import helpers
from mmda.models.segmentors.base_uda import BaseUDASegmentor
from mmda.models.losses import pixel_weighted_cross_entropy
from mmda.models.uda.pseudo_label import sigmoid_rampup
from mmda.registry import MODELS
from mmda.utils import register_all_modules
from tests.helpers import ROOT

H, W = 32, 64
NUM_CLASSES = 19

register_all_modules(init_default_scope=True)
torch.set_num_threads(1)


def tiny_segmentor():
    return helpers.tiny_segmentor(H, W, dropout=None)


def build_dacs(**kwargs):
    cfg = dict(type='DACS', segmentor=tiny_segmentor(), teacher=True)
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_batch(src_labels, seed=0):
    """A UDADataset-style batch of uint8 images and source labels."""
    g = torch.Generator().manual_seed(seed)
    B = len(src_labels)
    return dict(
        inputs=helpers.uint8_images(B, g),
        data_samples=helpers.seg_samples(src_labels),
        target_inputs=helpers.uint8_images(B, g),
        target_data_samples=helpers.seg_samples([None] * B))


def random_labels(B, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 5, (H, W), generator=g) for _ in range(B)]


def sgd(model, lr=0.01):
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(torch.optim.SGD(params, lr=lr, momentum=0.9))


def test_pixel_weighted_cross_entropy_by_hand():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                           [0.5, 0.5, 3.0]]).T.reshape(1, 3, 1, 3)
    label = torch.tensor([[[0, 255, 1]]])
    weight = torch.tensor([[[0.5, 1.0, 0.25]]])
    ce0 = -math.log(math.exp(2) / (math.exp(2) + 2))
    ce2 = -math.log(math.exp(0.5) / (2 * math.exp(0.5) + math.exp(3)))
    expected = (0.5 * ce0 + 0.0 + 0.25 * ce2) / 3  # ignored pixel counted
    got = pixel_weighted_cross_entropy(logits, label, weight)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # (B, 1, H, W) inputs are accepted as well
    got4 = pixel_weighted_cross_entropy(logits, label[:, None],
                                        weight[:, None])
    assert got4.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match='label and weight'):
        pixel_weighted_cross_entropy(logits, label[..., :2], weight)


def _fixed_teacher_probs(B):
    """Teacher softmax: class 5 with p=0.99 on the top rows (confident),
    class 7 with p=0.5 elsewhere. Image b is confident on (b+1)/4 of its
    rows."""
    probs = torch.full((B, NUM_CLASSES, H, W), 0.5 / (NUM_CLASSES - 1))
    probs[:, 7] = 0.5
    frac = []
    for b in range(B):
        rows = H * (b + 1) // 4
        probs[b, :, :rows] = 0.01 / (NUM_CLASSES - 1)
        probs[b, 5, :rows] = 0.99
        frac.append(rows / H)
    return probs, frac


@pytest.mark.parametrize('mode,reduce', [('threshold_uniform', None),
                                         ('threshold_uniform', 'image'),
                                         ('threshold', None),
                                         ('none', None)])
def test_mixed_loss_uses_pseudo_weight(mode, reduce):
    """The mixed loss equals the hand-computed weighted CE: source pixels
    (left half, ClassMix of the single source class) weight 1, target pixels
    the pseudo-label weight: by default one scalar for the batch (thesis
    §5.2.1, DACS code), per image with ``reduce='image'``."""
    B = 2
    pl = dict(mode=mode)
    if reduce is not None:
        pl['reduce'] = reduce
    model = build_dacs(strong_aug=None, pseudo_label=pl)
    src_label = torch.full((H, W), 255, dtype=torch.long)
    src_label[:, :W // 2] = 3  # one class -> ClassMix pastes the left half
    batch = make_batch([src_label.clone() for _ in range(B)])
    probs, frac = _fixed_teacher_probs(B)
    model.teacher_probs = lambda img: probs.clone()

    data = model.data_preprocessor(copy.deepcopy(batch), True)
    src, tgt = data['inputs'], data['target_inputs']
    left = torch.zeros(B, 1, H, W, dtype=torch.bool)
    left[..., :W // 2] = True
    mixed_img = torch.where(left, src, tgt)
    pseudo = probs.argmax(1, keepdim=True)
    mixed_label = torch.where(left, torch.full_like(pseudo, 3), pseudo)
    if mode == 'threshold_uniform' and reduce == 'image':
        tw = torch.tensor(frac).view(B, 1, 1, 1).expand(B, 1, H, W)
    elif mode == 'threshold_uniform':  # default: (1/4 + 2/4) / 2 = 3/8
        assert frac == [0.25, 0.5]
        tw = torch.full((B, 1, H, W), 0.375)
    elif mode == 'threshold':
        tw = (probs.max(1, keepdim=True).values >= 0.968).float()
    else:
        tw = torch.ones(B, 1, H, W)
    mixed_weight = torch.where(left, torch.ones_like(tw), tw)
    student = copy.deepcopy(model.student)
    with torch.no_grad():
        logits = student(mixed_img, mode='tensor')
        logits = F.interpolate(logits, (H, W), mode='bilinear',
                               align_corners=False)
        ce = F.cross_entropy(logits, mixed_label[:, 0], reduction='none',
                             ignore_index=255)
        expected = (ce * mixed_weight[:, 0]).mean()

    model.vis_requested = True
    log_vars = model.train_step(batch, sgd(model))
    assert log_vars['mix.loss_ce'].item() == pytest.approx(
        expected.item(), rel=1e-4)
    assert log_vars['mix.pseudo_weight'].item() == pytest.approx(
        tw.mean().item(), rel=1e-6)
    assert log_vars['mix.mask_ratio'].item() == pytest.approx(0.5)
    assert log_vars['loss'].item() == pytest.approx(
        log_vars['src.loss_ce'].item() + log_vars['mix.loss_ce'].item(),
        rel=1e-5)
    assert 'src.acc_seg' in log_vars and 'mix.acc_seg' in log_vars
    # the stash for the visualisation hook holds the same mixed tensors
    vis = model.vis_data
    torch.testing.assert_close(vis['mixed_weight'], mixed_weight)
    assert torch.equal(vis['mixed_label'].long(), mixed_label)
    torch.testing.assert_close(vis['mixed_img'], mixed_img)


def test_train_step_moves_student_not_teacher():
    model = build_dacs()
    # init_weights starts the teacher as a copy of the student
    for (n, p), q in zip(model.student.named_parameters(),
                         model.teacher.parameters()):
        assert torch.equal(p, q), n
    assert all(not p.requires_grad for p in model.teacher.parameters())
    s0 = copy.deepcopy(model.student.state_dict())
    t0 = copy.deepcopy(model.teacher.state_dict())
    batch = make_batch(random_labels(2))
    log_vars = model.train_step(batch, sgd(model))
    assert torch.isfinite(log_vars['loss'])
    # no gradient reached the teacher
    assert all(p.grad is None for p in model.teacher.parameters())
    moved = [k for k, v in model.student.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, s0[k])]
    assert any(k.startswith('decode_head') for k in moved)
    assert any(k.startswith('backbone') for k in moved)
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, t0[k]), k
    assert model.teacher.training is False
    model.train()
    assert model.student.training and not model.teacher.training
    assert int(model.uda_iter) == 1 and int(model.ema_step) == 0
    keys = model.state_dict().keys()
    assert 'ema_step' in keys and 'uda_iter' in keys
    assert any(k.startswith('teacher.') for k in keys)


def test_one_optimizer_step_two_backward_passes():
    """Gradients of both losses are accumulated before a single step."""
    model = build_dacs(strong_aug=None)
    ow = sgd(model)
    calls = []
    orig_step = ow.step

    def step(**kw):
        calls.append([p.grad.clone() for p in ow.optimizer.param_groups[0]
                      ['params'] if p.grad is not None])
        return orig_step(**kw)

    ow.step = step
    model.train_step(make_batch(random_labels(2)), ow)
    assert len(calls) == 1
    assert ow.inner_count == 1  # one update counted for two backward passes
    model.train_step(make_batch(random_labels(2), seed=1), ow)
    assert len(calls) == 2 and ow.inner_count == 2


def test_config_switches_run():
    batch = make_batch(random_labels(2))
    # sigmoid ramp (thesis eq. 2.13) uses the iteration counter
    model = build_dacs(pseudo_label=dict(mode='sigmoid', ramp_iters=4))
    ow = sgd(model)
    w0 = model.train_step(copy.deepcopy(batch), ow)['mix.pseudo_weight']
    w1 = model.train_step(copy.deepcopy(batch), ow)['mix.pseudo_weight']
    assert w0.item() == pytest.approx(sigmoid_rampup(0, 4, 5.0))
    assert w1.item() == pytest.approx(sigmoid_rampup(1, 4, 5.0))
    assert w0.item() == pytest.approx(math.exp(-5.0))

    # soft targets + IntraMix + distribution alignment
    model = build_dacs(
        soft_targets=True, mix_domain='intra',
        dist_align=dict(type='DistributionAlignment',
                        num_classes=NUM_CLASSES))
    log_vars = model.train_step(copy.deepcopy(batch), sgd(model))
    assert torch.isfinite(log_vars['mix.loss_ce'])
    assert 'mix.acc_seg' not in log_vars
    assert bool(model.dist_align.initialized)
    assert 'dist_align.running_dist' in model.state_dict()
    torch.testing.assert_close(model.dist_align.running_dist.sum(),
                               torch.tensor(1.0))

    # CutMix / CowMix masks and no teacher (student pseudo-labels)
    for mix in (dict(type='CutMix'), dict(type='CowMix', sigma=(2, 4))):
        model = build_dacs(mix=mix, teacher=False)
        assert model.teacher is None
        log_vars = model.train_step(copy.deepcopy(batch), sgd(model))
        assert 0.0 < log_vars['mix.mask_ratio'].item() < 1.0


def test_intra_mix_masks_from_pseudo_labels():
    """IntraMix pastes the pseudo-label classes of target b onto b+1."""
    B = 2
    model = build_dacs(strong_aug=None, mix_domain='intra',
                       pseudo_label=dict(mode='none'))
    probs, _ = _fixed_teacher_probs(B)
    model.teacher_probs = lambda img: probs.clone()
    model.vis_requested = True
    batch = make_batch(random_labels(B))
    model.train_step(batch, sgd(model))
    mask = model.vis_data['mask']
    pseudo = probs.argmax(1, keepdim=True)
    # classes {5, 7}: ClassMix pastes one of them, whole class regions
    for b in range(B):
        chosen = pseudo[b][mask[b] > 0].unique()
        assert chosen.numel() == 1
        assert torch.equal(mask[b] > 0, pseudo[b] == chosen)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    tgt = data['target_inputs']
    expected = torch.where(mask > 0, tgt, tgt.roll(-1, 0))
    torch.testing.assert_close(model.vis_data['mixed_img'], expected)


def test_errors_and_eval_model():
    with pytest.raises(ValueError, match="needs a batch size >= 2"):
        build_dacs(mix_domain='intra').train_step(
            make_batch(random_labels(1)), OptimWrapper(
                torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], 0.1)))
    model = build_dacs()
    batch = make_batch(random_labels(2))
    batch.pop('target_inputs')
    batch.pop('target_data_samples')
    with pytest.raises(KeyError, match='UDADataset'):
        model.train_step(batch, sgd(model))
    with pytest.raises(ValueError, match="mix_domain must be"):
        build_dacs(mix_domain='both')
    with pytest.raises(ValueError, match="eval_model='teacher' needs"):
        build_dacs(teacher=False, eval_model='teacher')
    with pytest.raises(TypeError, match='segmentor'):
        MODELS.build(dict(type='DACS', segmentor=None))

    # predictions come from the configured network
    model = build_dacs(eval_model='teacher')
    with torch.no_grad():
        for p in model.teacher.parameters():
            p.add_(0.1)
    model.eval()
    x = torch.randn(1, 3, H, W)
    meta = dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W),
                padding_size=[0, 0, 0, 0])
    out_t = model.predict(x, [SegDataSample(metainfo=meta)])
    ref = model.teacher.predict(x, [SegDataSample(metainfo=meta)])
    torch.testing.assert_close(out_t[0].seg_logits.data,
                               ref[0].seg_logits.data)
    model.eval_model = 'student'
    out_s = model.predict(x, [SegDataSample(metainfo=meta)])
    assert not torch.allclose(out_s[0].seg_logits.data,
                              out_t[0].seg_logits.data)


def test_base_uda_source_only_step():
    """BaseUDASegmentor alone trains the student on the source half."""
    model = MODELS.build(dict(type='BaseUDASegmentor',
                              segmentor=tiny_segmentor()))
    model.init_weights()
    assert model.teacher is None and isinstance(model, BaseUDASegmentor)
    assert type(model.data_preprocessor).__name__ == 'UDADataPreProcessor'
    log_vars = model.train_step(make_batch(random_labels(2)), sgd(model))
    assert set(log_vars) == {'loss', 'src.loss_ce', 'src.acc_seg'}


def test_uda_panel():
    from mmda.visualization.uda_panel import PANEL_TILES, make_uda_panel
    model = build_dacs(strong_aug=None)
    model.vis_requested = True
    model.train_step(make_batch(random_labels(2)), sgd(model))
    dp = model.data_preprocessor
    panel = make_uda_panel(model.vis_data, dp.mean.flatten().tolist(),
                           dp.std.flatten().tolist(), max_samples=2)
    assert panel.dtype == np.uint8 and panel.shape[2] == 3
    n = len(PANEL_TILES)
    assert panel.shape[1] == n * (W + 2)
    assert panel.shape[0] == 14 + 2 * H + 2
    # the source image tile is the de-normalised RGB input
    src = model.vis_data['src_img'][0]
    rgb = (src * dp.std + dp.mean).round().clamp(0, 255).byte()
    assert np.array_equal(panel[14:14 + H, :W], rgb.permute(1, 2, 0).numpy())


# --------------------------------------------------------------------------
# Runner: training on the toy benchmark and exact resume
# --------------------------------------------------------------------------
def toy_cfg(work_dir, max_iters, val=False):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'dacs', 'toy_dacs.py'))
    cfg.work_dir = str(work_dir)
    # one Runner per run in this process: unique global instance names
    cfg.experiment_name = f'test_dacs_{osp.basename(str(work_dir))}'
    cfg.visualizer.name = cfg.experiment_name
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=max_iters)
    cfg.param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9,
                                begin=0, end=4, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        by_epoch=False, interval=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = [
        dict(type='EMATeacherHook', alpha=0.99),
        dict(type='UDAVisualizationHook', interval=2),
    ]
    if val:
        cfg.val_dataloader.dataset.indices = 4
        cfg.val_dataloader.num_workers = 0
        cfg.val_dataloader.persistent_workers = False
    else:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.test_cfg = None
    cfg.test_dataloader = None
    cfg.test_evaluator = None
    return cfg


def _state(runner):
    model = runner.model
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.slow
def test_runner_train_and_exact_resume(tmp_path):
    from mmengine.runner import Runner
    full = Runner.from_cfg(toy_cfg(tmp_path / 'full', 4, val=True))
    full.train()
    full_state = _state(full)
    assert int(full_state['ema_step']) == 4
    assert int(full_state['uda_iter']) == 4
    # validation ran on the target val subset
    scalars = glob.glob(str(tmp_path / 'full' / '*' / 'vis_data' /
                            'scalars.json'))
    assert scalars and 'mIoU' in open(scalars[0]).read()
    # the visualisation hook saved panels at iterations 2 and 4
    imgs = glob.glob(str(tmp_path / 'full' / '*' / 'vis_data' / 'vis_image' /
                         'uda_train_*.png'))
    assert sorted(osp.basename(p) for p in imgs) == [
        'uda_train_2.png', 'uda_train_4.png']
    # the teacher moved away from its initial copy but is not the student
    student = {k[len('student.'):]: v for k, v in full_state.items()
               if k.startswith('student.')}
    teacher = {k[len('teacher.'):]: v for k, v in full_state.items()
               if k.startswith('teacher.')}
    assert any(not torch.equal(student[k], teacher[k]) for k in student
               if student[k].is_floating_point())

    # resume from the checkpoint the same run wrote at iteration 2
    ckpt = str(tmp_path / 'full' / 'iter_2.pth')
    assert osp.isfile(ckpt)

    cfg = toy_cfg(tmp_path / 'resumed', 4)
    cfg.resume = True
    cfg.load_from = ckpt
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    res_state = _state(resumed)
    assert full_state.keys() == res_state.keys()
    assert int(res_state['ema_step']) == 4
    for k in full_state:
        assert torch.equal(full_state[k], res_state[k]), k


def test_configs_parse():
    """Every DACS / ClassMix config parses into a DACS model on a
    UDADataset with the EMA hook and the separate-DDP wrapper."""
    files = sorted(glob.glob(osp.join(ROOT, 'configs', 'dacs', '*.py')) +
                   glob.glob(osp.join(ROOT, 'configs', 'classmix', '*.py')))
    assert len(files) >= 15
    for f in files:
        if osp.basename(f).endswith('_base.py'):
            continue  # partial configs (model part only)
        cfg = Config.fromfile(f)
        assert cfg.model.type == 'DACS', f
        assert cfg.model.segmentor.type == 'EncoderDecoder', f
        assert cfg.train_dataloader.dataset.type == 'UDADataset', f
        assert cfg.model_wrapper_cfg.type == \
            'MMSeparateDistributedDataParallel', f
        hooks = [h['type'] for h in cfg.custom_hooks]
        assert 'EMATeacherHook' in hooks, f
        assert cfg.val_dataloader is not None, f
    voc = Config.fromfile(osp.join(ROOT, 'configs', 'classmix',
                                   'voc_1-100.py'))
    assert voc.model.segmentor.decode_head.num_classes == 21
    assert voc.model.mix_domain == 'intra' and voc.model.strong_aug is None
    assert voc.train_dataloader.dataset.source.ann_file == \
        'splits/1-100_seed0_labeled.txt'
    assert voc.train_dataloader.batch_size == 10
    gta = Config.fromfile(osp.join(ROOT, 'configs', 'dacs', 'gta2city.py'))
    assert gta.train_cfg.max_iters == 250000
    assert gta.model.pseudo_label.threshold == 0.968
    assert gta.optim_wrapper.optimizer.lr == 2.5e-4
    assert gta.optim_wrapper.paramwise_cfg.custom_keys[
        'student.decode_head'].lr_mult == 10.0
    assert gta.train_dataloader.batch_size == 2
    night = Config.fromfile(osp.join(ROOT, 'configs', 'dacs',
                                     'toy_dacs_night.py'))
    assert night.train_dataloader.dataset.target.domain == 'night'
    assert night.val_dataloader.dataset.domain == 'night'


# --------------------------------------------------------------------------
# Reference fidelity (issue 13): teacher BatchNorm, supervised CE
# --------------------------------------------------------------------------
def _randomise_bn_buffers(net, seed=0):
    """Running statistics far from any batch's, so that batch and running
    statistics give different outputs."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape,
                                             generator=g))
            m.running_var.copy_(
                torch.rand(m.running_var.shape, generator=g) * 3 + 0.5)
            m.num_batches_tracked.fill_(17)


def _functional_bn_reference(net):
    """A copy of ``net`` in eval mode whose BatchNorm layers are replaced by
    ``F.batch_norm`` with the batch's own statistics (no running buffers)."""
    ref = copy.deepcopy(net).eval()
    for m in ref.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.forward = (lambda x, m=m: F.batch_norm(
                x, None, None, m.weight, m.bias, True, 0.0, m.eps))
    return ref


@pytest.mark.parametrize('teacher', [True, False])
def test_teacher_bn_uses_batch_statistics_and_keeps_buffers(teacher):
    """teacher_bn='batch' (default, DACS/DAFormer teachers in train mode):
    the pseudo-labelling network's output equals a functional batch norm
    with the target batch's statistics; its buffers and modes are
    unchanged. teacher_bn='running' is eval mode."""
    model = build_dacs(teacher=teacher)
    assert model.teacher_bn == 'batch'
    net = model.teacher if teacher else model.student
    model.train()
    with torch.no_grad():
        _randomise_bn_buffers(net)
    before = copy.deepcopy(net.state_dict())
    modes = {n: m.training for n, m in net.named_modules()}
    img = torch.randn(2, 3, H, W, generator=torch.Generator().manual_seed(3))

    probs = model.teacher_probs(img)

    ref_net = _functional_bn_reference(net)
    with torch.no_grad():
        logits = ref_net(img, mode='tensor')
        ref = torch.softmax(F.interpolate(
            logits, (H, W), mode='bilinear', align_corners=False), dim=1)
        eval_net = copy.deepcopy(net).eval()
        run = torch.softmax(F.interpolate(
            eval_net(img, mode='tensor'), (H, W), mode='bilinear',
            align_corners=False), dim=1)
    torch.testing.assert_close(probs, ref, rtol=1e-5, atol=1e-6)
    # eval mode (the old behaviour) gives another answer on these buffers
    assert (probs - run).abs().max() > 1e-2
    # buffers (running mean/var, num_batches_tracked) untouched
    after = net.state_dict()
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert {n: m.training for n, m in net.named_modules()} == modes
    assert all(m.track_running_stats for m in net.modules()
               if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))

    model.teacher_bn = 'running'
    torch.testing.assert_close(model.teacher_probs(img), run,
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='teacher_bn must be'):
        build_dacs(teacher_bn='train')


def test_bn_batch_statistics_restores_flags_on_error():
    from mmda.models.utils import bn_batch_statistics
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                              torch.nn.BatchNorm2d(4)).eval()
    with pytest.raises(RuntimeError, match='boom'):
        with bn_batch_statistics(net):
            assert net[1].training and not net[1].track_running_stats
            assert not net[0].training
            raise RuntimeError('boom')
    assert not net[1].training and net[1].track_running_stats


def test_supervised_ce_averages_over_non_ignored_pixels():
    """The COCO DeepLabV2 (DACS, ClassMix, ASS) averages the supervised CE
    over the non-ignored pixels (DACS/AdaptSegNet CrossEntropy2d): with 12
    of 100 pixels ignored the all-pixel mean would be 0.88x the
    reference."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models',
                                   'deeplabv2_r101_coco.py'))
    loss_cfg = cfg.model.decode_head.loss_decode
    assert loss_cfg.avg_non_ignore is True
    loss_fn = MODELS.build(loss_cfg)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 4, 10, 10, generator=g)
    label = torch.randint(0, 4, (1, 10, 10), generator=g)
    label.view(-1)[torch.randperm(100, generator=g)[:12]] = 255
    logp = torch.log_softmax(logits, dim=1)
    valid = label != 255
    nll = -logp.gather(1, torch.where(valid, label, 0)[:, None])[:, 0]
    expected = nll[valid].sum() / 88  # the formula: mean over valid pixels
    got = loss_fn(logits, label, ignore_index=255)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    # the same through a DACS step's source loss (tiny model, same loss)
    seg = tiny_segmentor()
    seg['decode_head']['loss_decode'] = loss_cfg.to_dict()
    model = MODELS.build(dict(type='DACS', segmentor=seg, strong_aug=None))
    model.init_weights()
    labels = random_labels(2)
    labels[0][:4] = 255
    batch = make_batch(labels)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    student = copy.deepcopy(model.student)
    with torch.no_grad():
        out = F.interpolate(student(data['inputs'], mode='tensor'), (H, W),
                            mode='bilinear', align_corners=False)
        lab = torch.stack(labels)
        ref = F.cross_entropy(out, lab, ignore_index=255)  # valid mean
        all_mean = F.cross_entropy(out, lab, ignore_index=255,
                                   reduction='none').mean()
    log_vars = model.train_step(batch, sgd(model))
    assert log_vars['src.loss_ce'].item() == pytest.approx(ref.item(),
                                                           rel=1e-5)
    assert abs(all_mean.item() - ref.item()) > 1e-3


def test_reference_switches_in_configs():
    """Every DACS / ClassMix config (real and toy) uses one pseudo-label
    weight per batch and the teacher's batch statistics; the real ones the
    non-ignored CE mean for the supervised loss."""
    files = sorted(glob.glob(osp.join(ROOT, 'configs', 'dacs', '*.py')) +
                   glob.glob(osp.join(ROOT, 'configs', 'classmix', '*.py')))
    for f in files:
        if osp.basename(f).endswith('_base.py'):
            continue
        cfg = Config.fromfile(f)
        assert cfg.model.pseudo_label.get('reduce') == 'batch', f
        assert cfg.model.teacher_bn == 'batch', f
        # toy labels have no ignored pixels; gta2city_40k follows DAFormer's
        # mmseg 0.x loss (mean over all pixels, test_gta2city_40k_*)
        name = osp.basename(f)
        if not name.startswith('toy_') and name != 'gta2city_40k.py':
            loss = cfg.model.segmentor.decode_head.loss_decode
            assert loss.avg_non_ignore is True, f


def test_step_frees_teacher_probs_and_full_res_logits():
    """Issue 17: without soft targets the teacher softmax is not alive when
    the student sees the mixed batch, and the full-resolution mixed logits
    are freed before the mixed backward (the accuracy log comes first)."""
    import weakref
    model = build_dacs()
    refs = {}
    orig_probs = model.teacher_probs

    def teacher_probs(img):
        p = orig_probs(img)
        refs['probs'] = weakref.ref(p)
        return p

    model.teacher_probs = teacher_probs
    orig_resize = model._resize
    calls = []

    def resize(x, size):
        out = orig_resize(x, size)
        if x.requires_grad:  # the student's mixed logits
            refs['logits'] = weakref.ref(out)
        return out

    model._resize = resize
    seen = {}
    orig_backward = model.backward
    orig_masks = model.mixer.generate_masks

    def generate_masks(*args, **kwargs):
        mask = orig_masks(*args, **kwargs)  # float32 already: kept by .to()
        refs['mask'] = weakref.ref(mask)
        return mask

    model.mixer.generate_masks = generate_masks

    def backward(loss, ow):
        calls.append(1)
        if len(calls) == 2:  # the mixed loss
            seen.update((k, r()) for k, r in refs.items())
        return orig_backward(loss, ow)

    model.backward = backward
    log_vars = model.train_step(make_batch(random_labels(2)), sgd(model))
    assert len(calls) == 2
    assert seen['probs'] is None and seen['logits'] is None
    # the mix mask (only the logs read it after mixing) is freed as well
    assert seen['mask'] is None
    assert 0.0 <= log_vars['mix.acc_seg'].item() <= 100.0


@pytest.mark.parametrize('cfg', [
    dict(), dict(mix_domain='intra'), dict(soft_targets=True),
    dict(pseudo_label=dict(mode='threshold_uniform'))
])
def test_freed_maps_change_no_log_and_no_weight(cfg):
    """Issue 17: freeing the maps only the logs read before the mixed pass
    changes nothing. The visualisation keeps them alive (the step as it was
    before the change): three steps with EMA updates give bit-identical
    log values and student/teacher weights either way."""
    from mmda.models.uda.ema import ema_update
    runs = []
    for keep in (True, False):
        torch.manual_seed(0)
        model = build_dacs(train_cfg=dict(seed=3), **cfg)
        model.vis_requested = keep
        ow = sgd(model)
        logs = []
        for i in range(3):
            logs.append(model.train_step(
                make_batch(random_labels(2, seed=i), seed=i), ow))
            ema_update(model.teacher, model.student, 0.99, i)
        assert (model.vis_data is not None) == keep
        runs.append((logs, model.state_dict()))
    (logs_a, state_a), (logs_b, state_b) = runs
    for a, b in zip(logs_a, logs_b):
        assert list(a) == list(b)
        for k in a:
            assert torch.equal(torch.as_tensor(a[k]), torch.as_tensor(b[k])), k
    assert state_a.keys() == state_b.keys()
    for k in state_a:
        assert torch.equal(state_a[k], state_b[k]), k


def test_deeplab_logits_upsampled_with_align_corners():
    """The COCO / AdaptSegNet DeepLabV2 upsamples its stride-8 logits with
    align_corners=True (DACS `interp`): on a 17x17 input the 3x3 logits sit
    exactly on pixels 0, 8 and 16, in the pseudo-labels, the training
    losses and inference alike."""
    for rel in (('_base_', 'models', 'deeplabv2_r101.py'),
                ('_base_', 'models', 'deeplabv2_r101_coco.py')):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', *rel))
        assert cfg.model.decode_head.align_corners is True, rel
    for rel in (('dacs', 'gta2city.py'), ('dacs', 'synthia2city.py'),
                ('classmix', 'cityscapes_1-8.py'), ('classmix', 'voc_1-8.py'),
                ('ass', 'ga_gta2city_100.py'),
                ('sie', 'gta2city_deeplabv2_r101.py')):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', *rel))
        head = cfg.model.segmentor.decode_head \
            if 'segmentor' in cfg.model else cfg.model.decode_head
        assert head.align_corners is True, rel

    seg = tiny_segmentor()
    seg['decode_head']['align_corners'] = True
    model = MODELS.build(dict(type='DACS', segmentor=seg, teacher=True,
                              teacher_bn='running'))
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 17, 17, generator=torch.Generator().manual_seed(0))
    grid = [0, 8, 16]
    with torch.no_grad():
        logits = model.student(x, mode='tensor')
        assert logits.shape[-2:] == (3, 3)
        up = model._resize(logits, (17, 17))
        torch.testing.assert_close(up[..., grid, :][..., grid], logits,
                                   rtol=0, atol=1e-6)
        # in between: the mean of the two neighbours
        torch.testing.assert_close(up[..., 4, 0],
                                   (logits[..., 0, 0] + logits[..., 1, 0]) / 2,
                                   rtol=0, atol=1e-6)
        # pseudo-labels (teacher = student copy here)
        probs = model.teacher_probs(x)
        torch.testing.assert_close(probs[..., grid, :][..., grid],
                                   torch.softmax(logits, dim=1),
                                   rtol=0, atol=1e-6)
        # inference
        meta = dict(img_shape=(17, 17), ori_shape=(17, 17),
                    pad_shape=(17, 17), padding_size=[0, 0, 0, 0])
        out = model.predict(x[:1], [SegDataSample(metainfo=meta)])
        seg_logits = out[0].seg_logits.data
        torch.testing.assert_close(seg_logits[:, grid][:, :, grid],
                                   logits[0], rtol=0, atol=1e-6)
    # the supervised loss upsamples the same way
    label = torch.randint(0, NUM_CLASSES, (2, 17, 17),
                          generator=torch.Generator().manual_seed(1))
    samples = []
    for b in range(2):
        s = SegDataSample(metainfo=meta)
        s.gt_sem_seg = PixelData(data=label[b][None])
        samples.append(s)
    model.train()
    with torch.no_grad():
        losses = model.student(x, samples, mode='loss')
        logits = model.student(x, mode='tensor')
    expected = F.cross_entropy(
        F.interpolate(logits, (17, 17), mode='bilinear', align_corners=True),
        label, ignore_index=255)
    assert losses['decode.loss_ce'].item() == pytest.approx(
        expected.item(), rel=1e-5)


def test_synthia_configs_report_19_16_13_class_means():
    """Every SYNTHIA -> Cityscapes config evaluates the 19-, 16- and
    13-class means (DACS thesis Table 4.4) in one pass."""
    from mmengine.evaluator import Evaluator
    from mmda.evaluation.subset_iou_metric import CLASS_SUBSETS
    files = sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'synthia*.py')))
    assert osp.join(ROOT, 'configs', 'dacs', 'synthia2city.py') in files
    classes = CLASS_SUBSETS['cityscapes19']
    # hand-made case: 4 pixels per class, class c > 0 predicted right on
    # the first 2 + c % 3 pixels, as class 0 on the others
    gt = torch.arange(19).repeat_interleave(4).view(1, 4, 19)
    pred = gt.clone()
    for c in range(19):
        cols = (gt[0] == c).nonzero()
        for r, col in cols[2 + c % 3:].tolist():
            pred[0, r, col] = 0
    for f in files:
        cfg = Config.fromfile(f)
        ev = Evaluator(copy.deepcopy(cfg.val_evaluator))
        ev.dataset_meta = dict(classes=classes)
        ev.process([dict(pred_sem_seg=dict(data=pred),
                         gt_sem_seg=dict(data=gt))])
        res = ev.evaluate(1)
        assert {'mIoU', '16cls/mIoU', '13cls/mIoU'} <= set(res), (f, res)
        # the subset means are means over their classes
        tp = torch.tensor([2 + c % 3 for c in range(19)], dtype=float)
        tp[0] = 4  # class 0's misses are predicted as 0: none
        fp = torch.zeros(19, dtype=float)
        fp[0] = (4 - tp[1:]).sum()
        iou = tp / (4 + fp)
        for key, name in (('mIoU', 'cityscapes19'),
                          ('16cls/mIoU', 'synthia16'),
                          ('13cls/mIoU', 'synthia13')):
            idx = [classes.index(c) for c in CLASS_SUBSETS[name]]
            assert res[key] == pytest.approx(
                100 * iou[idx].mean().item(), abs=0.01), (f, key)


def test_gta2city_40k_is_daformers_recipe():
    """configs/dacs/gta2city_40k.py follows DAFormer's DACS: AdamW 6e-5,
    weight decay 0.01, head lr x10, 1.5k linear warm-up then poly 1.0,
    ImageNet ResNet-101-V1c with mean/std normalisation."""
    from mmengine.optim.scheduler import LinearLR, PolyLR
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'dacs',
                                   'gta2city_40k.py'))
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 6e-5, 0.01)
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys[
        'student.decode_head'].lr_mult == 10.0
    assert cfg.train_cfg.max_iters == 40000
    seg = cfg.model.segmentor
    assert seg.backbone.type == 'ResNetV1c' and seg.backbone.depth == 101
    assert 'resnet101_v1c' in seg.backbone.init_cfg.checkpoint
    assert seg.decode_head.dilations == (6, 12)
    dp = cfg.model.data_preprocessor
    assert dp.std == [58.395, 57.12, 57.375] and dp.bgr_to_rgb is True
    assert cfg.model.strong_aug.color_jitter_p == 0.8
    assert seg.decode_head.loss_decode.avg_non_ignore is False
    assert seg.decode_head.align_corners is False
    # the learning-rate curve: mmcv's warmup factor x poly(1.0)
    param = torch.nn.Parameter(torch.zeros(1))
    optim = torch.optim.AdamW([param], lr=6e-5)
    kinds = dict(LinearLR=LinearLR, PolyLR=PolyLR)
    scheds = []
    for s in cfg.param_scheduler:
        s = dict(s)
        scheds.append(kinds[s.pop('type')](optim, **s))
    lrs = {}
    for t in range(3001):
        lrs[t] = optim.param_groups[0]['lr']
        optim.step()
        for s in scheds:
            s.step()
    for t in (0, 1, 750, 1499, 1500, 3000):
        warm = 1e-6 + (1 - 1e-6) * min(t, 1500) / 1500
        assert lrs[t] == pytest.approx(6e-5 * warm * (1 - t / 40000),
                                       rel=1e-6, abs=1e-15), t


def test_classmix_cityscapes_mean_and_classifier_lr():
    """ClassMix: Cityscapes configs subtract the Cityscapes mean (thesis
    §4.3.1), VOC keeps ImageNet's; the classifier gets lr x10 (ClassMix
    code `optim_parameters`)."""
    files = sorted(glob.glob(osp.join(ROOT, 'configs', 'classmix',
                                      '*_1-*.py')))
    assert len(files) == 8
    for f in files:
        cfg = Config.fromfile(f)
        assert cfg.optim_wrapper.paramwise_cfg.custom_keys[
            'student.decode_head'].lr_mult == 10.0, f
        assert cfg.optim_wrapper.optimizer.lr == 2.5e-4, f
        mean = cfg.model.data_preprocessor.mean
        if osp.basename(f).startswith('cityscapes'):
            assert mean == [73.15835921, 82.90891754, 72.39239876], f
        else:
            assert mean == [104.00698793, 116.66876762, 122.67891434], f
