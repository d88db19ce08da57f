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

from mmda.models.segmentors.base_uda import BaseUDASegmentor
from mmda.models.segmentors.dacs import pixel_weighted_cross_entropy
from mmda.models.uda.pseudo_label import sigmoid_rampup
from mmda.registry import MODELS
from mmda.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
H, W = 32, 64
NUM_CLASSES = 19

register_all_modules(init_default_scope=True)
torch.set_num_threads(1)


def tiny_segmentor():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'deeplabv2_tiny.py'))
    seg = cfg.model.to_dict()
    seg['data_preprocessor']['size'] = (H, W)
    return seg


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

    def samples(labels):
        out = []
        for lab in labels:
            s = SegDataSample()
            if lab is not None:
                s.gt_sem_seg = PixelData(data=lab[None].long())
            out.append(s)
        return out

    return dict(
        inputs=[torch.randint(0, 256, (3, H, W), generator=g,
                              dtype=torch.uint8) for _ in range(B)],
        data_samples=samples(src_labels),
        target_inputs=[torch.randint(0, 256, (3, H, W), generator=g,
                                     dtype=torch.uint8) for _ in range(B)],
        target_data_samples=samples([None] * B))


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


@pytest.mark.parametrize('mode', ['threshold_uniform', 'threshold', 'none'])
def test_mixed_loss_uses_pseudo_weight(mode):
    """The mixed loss equals the hand-computed weighted CE: source pixels
    (left half, ClassMix of the single source class) weight 1, target pixels
    the pseudo-label weight of their image."""
    B = 2
    model = build_dacs(strong_aug=None, pseudo_label=dict(mode=mode))
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
    if mode == 'threshold_uniform':
        tw = torch.tensor(frac).view(B, 1, 1, 1).expand(B, 1, H, W)
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
