"""Tests of the mean-teacher domain extension (Scherer et al. 2021): masked
consistency loss, weak/strong night augmentations, the MeanTeacherUDA
training step (dropout placement, gradients, warm-up, ablation switches),
the multi-domain validation loop and the toy configs through the Runner and
tools/train.py."""
import copy
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torchvision.transforms.v2 import functional as TF

from tests import helpers
from mmda.engine.loops.multi_domain_val_loop import (MultiDomainTestLoop,
                                                     MultiDomainValLoop)
from mmda.models.losses.consistency_loss import (MaskedConsistencyLoss,
                                                 confidence_mask,
                                                 masked_consistency_loss)
from mmda.models.translators.fixed_day2night import FixedDay2Night
from mmda.models.uda.night_augmentation import NightAugmentation
from mmda.models.utils import dropout_enabled
from mmda.registry import HOOKS, MODELS
from tests.helpers import ROOT

PY = osp.join(ROOT, '.venv', 'bin', 'python')
if not osp.exists(PY):
    PY = sys.executable
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
H, W = 32, 64


# --------------------------------------------------------------- helpers
def tiny_segmentor(dropout=0.5):
    return helpers.tiny_segmentor(H, W, dropout=dropout)


def build_mt(**kwargs):
    cfg = dict(
        type='MeanTeacherUDA',
        segmentor=tiny_segmentor(kwargs.pop('dropout', 0.5)),
        teacher=True,
        translator=dict(type='FixedDay2Night', noise_std=0.0),
        confidence_threshold=0.0,
        ssl_weight=1.0,
        train_cfg=dict(seed=0))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    return model


def make_batch(B=2, seed=0):
    g = torch.Generator().manual_seed(seed)

    def samples():
        return helpers.seg_samples(helpers.labels(B, g, num_classes=19))

    def imgs():
        return helpers.uint8_images(B, g)

    return dict(inputs=imgs(), data_samples=samples(),
                target_inputs=imgs(), target_data_samples=samples())


def sgd(model, lr=0.0):
    return OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=lr))


# ------------------------------------------------------ consistency loss
def test_masked_consistency_loss_hand_computation():
    # B=1, C=2, H=1, W=3: teacher confidences 0.9, 0.6, 0.75; rho = 0.7
    t = torch.tensor([[0.9, 0.6, 0.25], [0.1, 0.4, 0.75]])[None, :, None]
    s = torch.tensor([[0.5, 0.2, 0.5], [0.5, 0.8, 0.5]])[None, :, None]
    s.requires_grad_(True)
    loss, mask = masked_consistency_loss(s, t, threshold=0.7)
    # pixel 0: (0.4^2 + 0.4^2) = 0.32; pixel 1 masked; pixel 2: 2*0.25^2
    assert mask.tolist() == [[[1.0, 0.0, 1.0]]]
    expected_sum = 0.32 + 0.125
    assert loss.item() == pytest.approx(expected_sum / 6, rel=1e-6)
    loss.backward()
    # d/ds (s - t)^2 / 6 = 2 (s - t) / 6 on unmasked pixels, 0 on masked
    expected_grad = 2 * (s.detach() - t) / 6 * mask[:, None]
    assert torch.allclose(s.grad, expected_grad)
    assert s.grad[0, :, 0, 1].abs().sum() == 0

    for red, val in (('sum', expected_sum), ('masked_mean',
                                             expected_sum / 2)):
        out, _ = masked_consistency_loss(s, t, 0.7, reduction=red)
        assert out.item() == pytest.approx(val, rel=1e-6)
    per_px, _ = masked_consistency_loss(s, t, 0.7, reduction='none')
    assert torch.allclose(per_px, torch.tensor([[[0.32, 0.0, 0.125]]]))

    # mask from other probabilities (eq. 15: w(f_T(x_t)) for f_T(A_w(x_t)))
    m = torch.tensor([[0.2, 0.95, 0.5], [0.8, 0.05, 0.5]])[None, :, None]
    out, mask2 = masked_consistency_loss(s, t, 0.7, mask_probs=m,
                                         reduction='sum')
    assert mask2.tolist() == [[[1.0, 1.0, 0.0]]]
    assert out.item() == pytest.approx(0.32 + 2 * 0.4**2, rel=1e-6)

    # the module form uses its threshold attribute (scheduled by a ramp)
    mod = MaskedConsistencyLoss(threshold=0.95, reduction='sum',
                                loss_weight=2.0)
    out, mask3 = mod(s, t)
    assert mask3.sum() == 0 and out.item() == 0
    out, _ = mod(s, t, threshold=0.7)
    assert out.item() == pytest.approx(2 * expected_sum, rel=1e-6)
    assert confidence_mask(t, 0.6).tolist() == [[[1.0, 1.0, 1.0]]]


def test_masked_consistency_loss_bad_input():
    a = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match='same shape'):
        masked_consistency_loss(a, torch.rand(1, 2, 4, 4))
    with pytest.raises(ValueError, match='reduction'):
        masked_consistency_loss(a, a, reduction='avg')
    with pytest.raises(ValueError, match='mask_probs'):
        masked_consistency_loss(a, a, mask_probs=torch.rand(1, 3, 2, 2))


# ----------------------------------------------------------- augmentations
def _norm(x):
    m = torch.tensor(MEAN).view(1, 3, 1, 1)
    s = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - m) / s


def _denorm(x):
    m = torch.tensor(MEAN).view(1, 3, 1, 1)
    s = torch.tensor(STD).view(1, 3, 1, 1)
    return x * s + m


def test_night_augmentation_matches_torchvision_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand((3, 3, 16, 20), generator=g) * 200 + 20
    x = _norm(rgb)
    identity = NightAugmentation(noise_std=0.0, brightness=0.0, contrast=0.0,
                                 saturation=0.0, hue=0.0)
    assert torch.allclose(_denorm(identity(x)), rgb, atol=1e-3)

    # fixed factors: brightness, contrast and saturation as torchvision
    aug = NightAugmentation(noise_std=0.0, hue=0.0)
    params = aug.sample_params(3, torch.Generator().manual_seed(1))
    out = _denorm(aug(x, params=params))
    for b in range(3):
        ref = rgb[b] / 255.0
        ref = TF.adjust_brightness(ref, float(params['brightness'][b]))
        ref = TF.adjust_contrast(ref, float(params['contrast'][b]))
        ref = TF.adjust_saturation(ref, float(params['saturation'][b]))
        assert torch.allclose(out[b] / 255.0, ref, atol=2e-3)

    # hue rotation keeps grey pixels grey and preserves the grey level sum
    grey = _norm(torch.full((2, 3, 4, 4), 100.0))
    hue_only = NightAugmentation(noise_std=0.0, brightness=0.0, contrast=0.0,
                                 saturation=0.0, hue=0.5)
    assert torch.allclose(_denorm(hue_only(grey)), torch.full(
        (2, 3, 4, 4), 100.0), atol=1e-3)
    red = _norm(torch.tensor([200.0, 50.0, 50.0]).view(1, 3, 1, 1).expand(
        1, 3, 2, 2).contiguous())
    p = hue_only.sample_params(1)
    p['hue'] = torch.tensor([1.0 / 3.0])  # 120 degrees: red -> green
    shifted = _denorm(hue_only(red, params=p))[0, :, 0, 0]
    assert torch.allclose(shifted, torch.tensor([50.0, 200.0, 50.0]),
                          atol=1e-2)

    # same generator seed -> same output; strong perturbs more than weak
    weak = MODELS.build(dict(type='NightAugmentation', noise_std=(0., 3.),
                             brightness=0.1, contrast=0.1, saturation=0.1,
                             hue=0.02))
    strong = MODELS.build(dict(type='NightAugmentation'))
    a1 = strong(x, generator=torch.Generator().manual_seed(5))
    a2 = strong(x, generator=torch.Generator().manual_seed(5))
    a3 = strong(x, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a1, a2) and not torch.equal(a1, a3)
    dw = (_denorm(weak(x, generator=torch.Generator().manual_seed(5))) -
          rgb).abs().mean()
    ds = (_denorm(a1) - rgb).abs().mean()
    assert 0 < dw < ds

    with pytest.raises(ValueError, match='noise_std'):
        NightAugmentation(noise_std=(3.0, 1.0))
    with pytest.raises(ValueError, match='hue'):
        NightAugmentation(hue=0.7)
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        strong(torch.rand(3, 8, 8))


def test_fixed_day2night_formula():
    t = FixedDay2Night(gain=0.5, tint=(1.0, 0.8, 1.2), noise_std=0.0)
    assert len(list(t.parameters())) == 0
    rgb = torch.rand(2, 3, 4, 5) * 200
    out = _denorm(t(_norm(rgb)))
    exp = rgb * torch.tensor([0.5, 0.4, 0.6]).view(1, 3, 1, 1)
    assert torch.allclose(out, exp, atol=1e-3)


# ------------------------------------------------------------- segmentor
class _Recorder:
    """Forward hooks on a dropout layer: (training flag, batch, output)."""

    def __init__(self, module):
        self.calls = []
        module.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        self.calls.append((module.training, inputs[0].shape[0],
                           output.detach().clone()))


def test_dropout_only_in_student_consistency_passes():
    torch.manual_seed(0)
    # no augmentation: the inputs of every pass are the same in both steps
    model = build_mt(weak_aug=None, strong_aug=None)
    s_drop = model.student.decode_head.dropout
    t_drop = model.teacher.decode_head.dropout
    assert isinstance(s_drop, torch.nn.Dropout2d)
    s_rec, t_rec = _Recorder(s_drop), _Recorder(t_drop)
    batch = make_batch(B=2)
    ow = sgd(model, lr=0.0)  # parameters stay fixed: only dropout varies
    for _ in range(2):
        model.train_step(copy.deepcopy(batch), ow)
    # per step: supervised (day + translated = 4 images, no dropout), then
    # consistency (strong night + translated = 4 images, dropout on)
    assert [(c[0], c[1]) for c in s_rec.calls] == [(False, 4), (True, 4)] * 2
    # teacher: weak night + clean night + day in one pass, never dropout
    assert [(c[0], c[1]) for c in t_rec.calls] == [(False, 6)] * 2
    sup1, cons1, sup2, cons2 = (c[2] for c in s_rec.calls)
    assert torch.equal(sup1, sup2)  # deterministic supervised pass
    assert torch.equal(t_rec.calls[0][2], t_rec.calls[1][2])
    assert not torch.equal(cons1, cons2)  # dropout masks differ
    # dropout zeroes whole channels (Dropout2d) in the consistency pass only
    zero_ch = (cons1.abs().sum(dim=(2, 3)) == 0).float().mean()
    assert 0.2 < zero_ch < 0.8
    assert (sup1.abs().sum(dim=(2, 3)) == 0).float().mean() < 0.2
    # after the step the dropout layers are back in training mode
    assert s_drop.training and not t_drop.training

    # student_dropout=False: no dropout in any pass
    model2 = build_mt(student_dropout=False)
    rec2 = _Recorder(model2.student.decode_head.dropout)
    model2.train_step(copy.deepcopy(batch), sgd(model2))
    assert [c[0] for c in rec2.calls] == [False, False]


def test_dropout_enabled_context_leaves_batchnorm():
    net = torch.nn.Sequential(torch.nn.BatchNorm2d(2), torch.nn.Dropout(0.5))
    net.train()
    with dropout_enabled(net, False):
        assert net[0].training and not net[1].training
    assert net[1].training
    net.eval()
    with dropout_enabled(net, True):
        assert not net[0].training and net[1].training
    assert not net[1].training


def test_consistency_bn_stats_option():
    batch = make_batch(B=2)
    for mode in ('update', 'frozen'):
        torch.manual_seed(0)
        model = build_mt(consistency_bn_stats=mode)
        bn = model.student.backbone.bn1
        seen = []
        bn.register_forward_hook(
            lambda m, i, o: seen.append(m.running_mean.clone()))
        start = bn.running_mean.clone()
        model.train_step(copy.deepcopy(batch), sgd(model))
        assert len(seen) == 2  # supervised, consistency
        assert not torch.equal(seen[0], start)  # supervised pass updates
        assert torch.equal(seen[1], seen[0]) == (mode == 'frozen')
        assert bn.momentum == 0.1 and int(bn.num_batches_tracked) == (
            2 if mode == 'update' else 1)
    with pytest.raises(ValueError, match='consistency_bn_stats'):
        build_mt(consistency_bn_stats='eval')


def _tiny_generator_checkpoint(path):
    gen_cfg = dict(type='ResnetGenerator', base_channels=4, num_blocks=1,
                   upsample_mode='bilinear_conv', norm_cfg=dict(type='IN'))
    torch.manual_seed(3)
    gen = MODELS.build(gen_cfg)
    torch.save(gen.state_dict(), path)
    return gen_cfg


def test_no_gradient_into_teacher_or_frozen_generator(tmp_path):
    ckpt = str(tmp_path / 'gen.pth')
    gen_cfg = _tiny_generator_checkpoint(ckpt)
    model = build_mt(translator=dict(
        type='Day2NightTranslator', generator=gen_cfg, checkpoint=ckpt))
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert all(not p.requires_grad for p in model.translator.parameters())
    batch = model.data_preprocessor(make_batch(B=2), True)
    ow = sgd(model, lr=0.0)
    log = model.forward_train(batch, ow)  # backward passes, no step
    assert 'ssl.loss_night' in log and 'ssl.loss_day' in log
    s_grads = [p.grad for p in model.student.parameters()]
    assert all(g is not None for g in s_grads)
    assert sum(float(g.abs().sum()) for g in s_grads) > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(p.grad is None for p in model.translator.parameters())

    # a real step: the student moves, the teacher and G_ST do not
    model2 = build_mt(translator=dict(
        type='Day2NightTranslator', generator=gen_cfg, checkpoint=ckpt))
    before_t = copy.deepcopy(model2.teacher.state_dict())
    before_g = copy.deepcopy(model2.translator.state_dict())
    before_s = copy.deepcopy(model2.student.state_dict())
    ow2 = OptimWrapper(torch.optim.Adam(model2.parameters(), lr=1e-2))
    model2.train_step(make_batch(B=2), ow2)
    for k, v in model2.teacher.state_dict().items():
        assert torch.equal(v, before_t[k]), k
    for k, v in model2.translator.state_dict().items():
        assert torch.equal(v, before_g[k]), k
    moved = [k for k, v in model2.student.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, before_s[k])]
    assert any('decode_head' in k for k in moved)
    assert model2.translator.training is False


def test_losses_warmup_and_ablation_switches():
    torch.manual_seed(0)
    model = build_mt(dropout=0.0)
    batch = make_batch(B=2)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    src, tgt = data['inputs'], data['target_inputs']

    # warm-up: ssl_weight 0 -> no SSL passes, loss = supervised only
    model.ssl_weight = 0.0
    log = model.forward_train(data, sgd(model))
    model._n_backward = 0
    assert 'ssl.loss_night' not in log and 'ssl.loss_day' not in log
    # eq. 12: CE(x_s) + CE(G_ST(x_s)), each a mean over its pixels
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    with torch.no_grad():
        # one pass over both views (the same BN batch as the training step)
        logits = model.student(torch.cat([src, model.translate(src)]),
                               mode='tensor')
        logits = F.interpolate(logits, size=(H, W), mode='bilinear',
                               align_corners=False)
        ce = F.cross_entropy(logits, torch.cat([labels, labels]),
                             ignore_index=255, reduction='none')
        expected_sup = ce[:2].mean() + ce[2:].mean()
    assert log['loss'].item() == pytest.approx(expected_sup.item(),
                                               rel=1e-4)

    # after the warm-up: loss = L_sup + lambda * (L_night + L_day)
    model.ssl_weight = 10.0
    model.confidence_threshold = 0.0
    log = model.forward_train(data, sgd(model))
    model._n_backward = 0
    total = log['sup.loss_ce'] + 10.0 * (log['ssl.loss_night'] +
                                         log['ssl.loss_day'])
    assert log['loss'].item() == pytest.approx(total.item(), rel=1e-5)
    assert log['ssl.mask_night'].item() == 1.0  # rho = 0 keeps all pixels
    assert log['ssl.loss_night'].item() > 0
    # rho = 1: nothing confident enough -> zero consistency loss
    model.confidence_threshold = 1.01
    log = model.forward_train(data, sgd(model))
    model._n_backward = 0
    assert log['ssl.loss_night'].item() == 0 and log['ssl.mask_day'] == 0

    # ablations: only night consistency, only translated supervision
    m2 = build_mt(dropout=0.0, day_consistency=False, sup_day=False)
    log2 = m2.forward_train(m2.data_preprocessor(copy.deepcopy(batch), True),
                            sgd(m2))
    assert 'ssl.loss_day' not in log2 and 'ssl.loss_night' in log2
    # day-only model: no translator, batches without night images work
    m3 = build_mt(translator=None, sup_translated=False,
                  night_consistency=False, day_consistency=False)
    day_only = dict(inputs=batch['inputs'], data_samples=batch['data_samples'])
    log3 = m3.train_step(copy.deepcopy(day_only), sgd(m3))
    assert set(k for k in log3 if k.startswith('ssl.')) == set()

    with pytest.raises(ValueError, match='translator'):
        build_mt(translator=None)
    with pytest.raises(ValueError, match='sup_day and sup_translated'):
        build_mt(sup_day=False, sup_translated=False)
    with pytest.raises(ValueError, match='teacher'):
        build_mt(teacher=False)
    with pytest.raises(ValueError, match='consistency_size'):
        build_mt(consistency_size='feature')
    m4 = build_mt()
    m4.ssl_weight = 1.0
    with pytest.raises(KeyError, match='target_inputs'):
        m4.train_step(copy.deepcopy(day_only), sgd(m4))


def test_teacher_is_evaluated_by_default():
    model = build_mt()
    assert model.eval_model == 'teacher'
    with torch.no_grad():
        model.teacher.decode_head.aspp_convs[0].bias.fill_(5.0)
    model.eval()
    x = torch.randn(1, 3, H, W)
    meta = [dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W))]
    out = model.encode_decode(x, meta)
    assert torch.allclose(out, model.teacher.encode_decode(x, meta))
    assert not torch.allclose(out, model.student.encode_decode(x, meta))


# ----------------------------------------------------- runner-level tests
def _toy_cfg(work_dir, config='toy_full.py', iters=4, warmup=2, n_val=10):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mean_teacher', config))
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0]['end'] = iters
    for hook in cfg.custom_hooks:
        for ramp in hook.get('ramps', []):
            if ramp.get('begin'):
                ramp['begin'] = warmup
    cfg.train_dataloader.batch_size = 1
    loaders = [cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader]
    loaders += [d['dataloader'] for d in cfg.val_cfg.domains
                if d.get('dataloader')]
    for dl in loaders:
        dl['num_workers'] = 0
        dl['persistent_workers'] = False
        if dl is not cfg.train_dataloader:
            dl['dataset']['indices'] = n_val
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=2, max_keep_ckpts=3)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1,
                                    log_metric_by_epoch=False)
    cfg.default_hooks.pop('visualization')
    cfg.log_level = 'WARNING'
    return cfg


@HOOKS.register_module(force=True)
class _MTRecordHook(Hook):
    """Records the scheduled attributes seen by each training iteration."""
    priority = 'LOW'  # after ParamRampHook (NORMAL)
    records = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        m = runner.model
        _MTRecordHook.records.append(
            (runner.iter, m.confidence_threshold, m.ssl_weight,
             int(m.ema_step)))


@pytest.mark.slow
def test_ramps_through_runner_and_resume(tmp_path):
    from mmengine.runner import Runner
    torch.set_num_threads(1)
    cfg = _toy_cfg(tmp_path / 'run', iters=4, warmup=2, n_val=2)
    cfg.custom_hooks.append(dict(type='_MTRecordHook'))
    _MTRecordHook.records = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    full = list(_MTRecordHook.records)
    # rho linear 0.5 -> 0.9 over 4 iterations; lambda 0 before iteration 2,
    # then 10 -> 20 (the toy's lambda_ssl) between iterations 2 and 4
    exp = [(0, 0.5, 0.0), (1, 0.6, 0.0), (2, 0.7, 10.0), (3, 0.8, 15.0)]
    assert [(i, round(r, 6), round(w, 6)) for i, r, w, _ in full] == exp
    assert [e for *_, e in full] == [0, 1, 2, 3]  # teacher update count
    logs = open(glob.glob(str(tmp_path / 'run' / '*' / 'vis_data' /
                                'scalars.json'))[0]).read().splitlines()
    logs = [json.loads(x) for x in logs]
    by_step = {d['step']: d for d in logs if 'iter' in d}  # training logs
    assert 'ssl.loss_night' not in by_step[1]  # warm-up: no SSL loss
    assert 'ssl.loss_night' in by_step[3] and 'ssl.loss_day' in by_step[4]

    # resume from the iteration-2 checkpoint: same values, counter restored
    cfg2 = _toy_cfg(tmp_path / 'resume', iters=4, warmup=2, n_val=2)
    cfg2.custom_hooks.append(dict(type='_MTRecordHook'))
    cfg2.load_from = str(tmp_path / 'run' / 'iter_2.pth')
    cfg2.resume = True
    _MTRecordHook.records = []
    Runner.from_cfg(cfg2).train()
    assert _MTRecordHook.records == full[2:]


def _night_only_metrics(cfg, runner):
    from mmengine.runner import ValLoop
    night = cfg.val_cfg.domains[1]
    loop = ValLoop(runner, copy.deepcopy(night['dataloader']),
                   copy.deepcopy(night['evaluator']))
    return loop.run()


def test_multi_domain_val_loop_reports_both_prefixes(tmp_path):
    from mmengine.runner import Runner
    torch.set_num_threads(1)
    cfg = _toy_cfg(tmp_path, n_val=10)
    cfg.test_cfg.domains[1]['dataloader'] = cfg.val_cfg.domains[1][
        'dataloader']
    runner = Runner.from_cfg(cfg)
    metrics = runner.val()
    assert isinstance(runner.val_loop, MultiDomainValLoop)
    for key in ('day/mIoU', 'night/mIoU', 'day/aAcc', 'night/aAcc'):
        assert key in metrics
    assert 0 <= metrics['night/mIoU'] <= 100
    # the night entry equals a plain ValLoop on the night data alone
    ref = _night_only_metrics(cfg, runner)
    assert metrics['night/mIoU'] == pytest.approx(ref['mIoU'])
    assert metrics['night/aAcc'] == pytest.approx(ref['aAcc'])
    test_metrics = runner.test()
    assert isinstance(runner.test_loop, MultiDomainTestLoop)
    assert test_metrics['night/mIoU'] == pytest.approx(ref['mIoU'])
    assert test_metrics['day/mIoU'] == pytest.approx(metrics['day/mIoU'])

    day = cfg.val_dataloader
    with pytest.raises(ValueError, match='unique'):
        MultiDomainValLoop(runner, day, cfg.val_evaluator, domains=[
            dict(prefix='a'), dict(prefix='a', dataloader=day,
                                   evaluator=cfg.val_evaluator)])
    with pytest.raises(ValueError, match='only one domain'):
        MultiDomainValLoop(runner, day, cfg.val_evaluator,
                           domains=[dict(prefix='a'), dict(prefix='b')])
    with pytest.raises(ValueError, match='needs an `evaluator`'):
        MultiDomainValLoop(runner, day, cfg.val_evaluator, domains=[
            dict(prefix='b', dataloader=day)])
    with pytest.raises(KeyError, match='unknown keys'):
        MultiDomainValLoop(runner, day, cfg.val_evaluator,
                           domains=[dict(prefix='a', metric='x')])
    with pytest.raises(ValueError, match='non-empty list'):
        MultiDomainValLoop(runner, day, cfg.val_evaluator, domains=[])


@pytest.mark.slow
def test_tools_train_toy_full(tmp_path):
    """A few iterations of the full method through tools/train.py on the toy
    day/night data, with the two-domain validation at the end."""
    work = tmp_path / 'work'
    opts = [
        'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
        'param_scheduler.0.end=3', 'custom_hooks.1.ramps.1.begin=1',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'val_dataloader.dataset.indices=10',
        'val_cfg.domains.1.dataloader.num_workers=0',
        'val_cfg.domains.1.dataloader.persistent_workers=False',
        'val_cfg.domains.1.dataloader.dataset.indices=10',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.interval=3',
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(
        [PY, 'tools/train.py', 'configs/mean_teacher/toy_full.py',
         '--work-dir', str(work), '--cfg-options'] + opts,
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert osp.exists(work / 'iter_3.pth')
    logs = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    assert logs, out[-2000:]
    recs = [json.loads(x) for x in open(logs[0]).read().splitlines()]
    assert any('ssl.loss_night' in r for r in recs)
    val = [r for r in recs if 'night/mIoU' in r]
    assert val and 'day/mIoU' in val[-1]
    ckpt = torch.load(str(work / 'iter_3.pth'), map_location='cpu',
                      weights_only=False)
    assert int(ckpt['state_dict']['ema_step']) == 3


# ------------------------------------------------------------ real configs
D2N_FL = 'data/cityscapes_day2night/leftImg8bit/train'
TABLE1 = {
    # config: (sup_day, sup_translated, night, day consistency,
    #          offline Day2Night (CS) folder)
    'cs2night_baseline.py': (True, False, False, False, None),
    'cs2night_d2n_cyclegan.py': (
        False, True, False, False,
        'data/cityscapes_day2night_cyclegan/leftImg8bit/train'),
    'cs2night_d2n_cyclegan_fl.py': (False, True, False, False, D2N_FL),
    'cs2night_d2n_fl_day.py': (True, True, False, False, D2N_FL),
    'cs2night.py': (True, True, True, True, D2N_FL),
}


def test_cs2night_configs_paper_settings(tmp_path):
    for name, (day, trans, night, dcons, folder) in TABLE1.items():
        cfg = Config.fromfile(
            osp.join(ROOT, 'configs', 'mean_teacher', name))
        m = cfg.model
        assert (m.sup_day, m.sup_translated, m.night_consistency,
                m.day_consistency) == (day, trans, night, dcons), name
        assert m.translator is None, name
        ds = cfg.train_dataloader.dataset
        src = ds.source if ds.type == 'UDADataset' else ds
        assert src.get('translated_dir') == folder, name
        assert m.eval_model == 'teacher' and m.teacher is True
        # batch of 8 labelled samples: 8 day, 8 translated or 4 + 4
        assert cfg.train_dataloader.batch_size * (int(day) + int(trans)) == 8
        assert cfg.optim_wrapper.optimizer.type == 'Adam'
        assert cfg.optim_wrapper.optimizer.lr == 1e-4
        assert cfg.train_cfg.max_iters == 50000
        ema = [h for h in cfg.custom_hooks if h.type == 'EMATeacherHook']
        assert ema and ema[0].alpha == 0.999
        assert cfg.data_preprocessor.size == (256, 256)
        assert cfg.val_cfg.type == 'MultiDomainValLoop'
        assert [d['prefix'] for d in cfg.val_cfg.domains] == ['day',
                                                               'dz_val']
        assert [d['prefix'] for d in cfg.test_cfg.domains] == ['day',
                                                                'night']
        assert cfg.test_cfg.domains[1]['evaluator']['classes'] == \
            'gt_present'
        assert m.segmentor.backbone.type == 'VGG16'
    ramps = {r['attr']: r for r in cfg.custom_hooks[1]['ramps']}
    assert ramps['confidence_threshold']['start'] == 0.5
    assert ramps['confidence_threshold']['end'] == 0.9
    assert ramps['ssl_weight']['begin_ratio'] == 0.2  # 10k of 50k
    assert ramps['ssl_weight']['warmup_value'] == 0.0
    assert (ramps['ssl_weight']['start'], ramps['ssl_weight']['end']) == (
        50.0, 100.0)

    # the full model builds with DeepLabV2-VGG16 (dropout after fc6 and
    # before the classifier) and trains one step on small crops
    mcfg = copy.deepcopy(cfg.model.to_dict())
    mcfg['segmentor']['backbone']['init_cfg'] = None
    mcfg['segmentor']['data_preprocessor']['size'] = (48, 48)
    mcfg['data_preprocessor'] = dict(mcfg['segmentor']['data_preprocessor'])
    torch.manual_seed(0)
    model = MODELS.build(mcfg)
    model.init_weights()
    model.train()
    drops = [n for n, mod in model.student.named_modules()
             if isinstance(mod, torch.nn.modules.dropout._DropoutNd)]
    assert len(drops) == 2, drops
    model.ssl_weight = 50.0
    model.confidence_threshold = 0.0
    g = torch.Generator().manual_seed(0)
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, 48, 48),
                                                generator=g))
    s.set_metainfo(dict(img_shape=(48, 48), ori_shape=(48, 48),
                        pad_shape=(48, 48)))
    batch = dict(
        inputs=[torch.randint(0, 256, (3, 48, 48), dtype=torch.uint8)],
        data_samples=[s],
        target_inputs=[torch.randint(0, 256, (3, 48, 48), dtype=torch.uint8)],
        target_data_samples=[SegDataSample()],
        translated_inputs=[torch.randint(0, 256, (3, 48, 48),
                                         dtype=torch.uint8)])
    log = model.train_step(batch, OptimWrapper(
        torch.optim.Adam(model.parameters(), lr=1e-4)))
    assert torch.isfinite(log['loss'])
    assert 'ssl.loss_night' in log and 'ssl.loss_day' in log


# ------------------------------------------- checkpoint selection (item 10)
def _loop_datasets(cfg, loop):
    """``{prefix: dataset config}`` of every domain of ``{loop}_cfg``."""
    default = cfg.get(f'{loop}_dataloader')
    return {d['prefix']: (d.get('dataloader') or default)['dataset']
            for d in cfg[f'{loop}_cfg']['domains']}


def _dataset_key(ds):
    return (ds['type'], osp.normpath(ds.get('data_root') or '.'),
            osp.normpath(ds['data_prefix']['img_path']))


CS2NIGHT_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(
        osp.join(ROOT, 'configs', 'mean_teacher', 'cs2night*.py')))


@pytest.mark.parametrize('name', CS2NIGHT_CONFIGS)
def test_cs2night_never_selects_checkpoints_on_a_reported_set(name):
    """Scherer et al. report Cityscapes val and Nighttime Driving test
    (Table 1): the best checkpoint must be chosen on another, validation
    split (Dark Zurich val night), never on a set of the test loop."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mean_teacher', name))
    save_best = cfg.default_hooks.checkpoint.get('save_best')
    keys = [save_best] if isinstance(save_best, str) else list(
        save_best or [])
    if name == 'cs2night.py':
        assert keys == ['dz_val/mIoU']
    val_sets = _loop_datasets(cfg, 'val')
    reported = {_dataset_key(ds) for ds in _loop_datasets(cfg,
                                                          'test').values()}
    assert any(k[0] == 'NightDrivingDataset' for k in reported)
    for ds in val_sets.values():
        # the test set is not even looked at during training
        assert ds['type'] != 'NightDrivingDataset', name
    for key in keys:
        prefix = key.split('/', 1)[0]
        assert prefix in val_sets, (name, key, sorted(val_sets))
        ds = val_sets[prefix]
        assert _dataset_key(ds) not in reported, (name, key, ds)
        parts = osp.normpath(ds['data_prefix']['img_path']).split(os.sep)
        assert 'test' not in parts, (name, key, ds)
        assert (ds['type'], parts[:2]) == (
            'DarkZurichDataset', ['rgb_anon', 'val']), (name, key, ds)


# ------------------------------------- offline Day2Night (CS) data (item 9)
def _fake_cityscapes(root, names=('aachen_000000_000019',
                                  'aachen_000001_000019'), size=(24, 40),
                     translate=None, split='train', labels=True):
    """A tiny Cityscapes-layout tree; ``translate`` (a function of the BGR
    image) writes the translated copy under ``root/day2night``."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for name in names:
        img = rng.integers(0, 256, size + (3, ), dtype=np.uint8)
        city = name.split('_')[0]
        d = osp.join(root, 'cityscapes', 'leftImg8bit', split, city)
        os.makedirs(d, exist_ok=True)
        cv2.imwrite(osp.join(d, f'{name}_leftImg8bit.png'), img)
        if labels:
            ld = osp.join(root, 'cityscapes', 'gtFine', split, city)
            os.makedirs(ld, exist_ok=True)
            lab = rng.integers(0, 19, size, dtype=np.uint8)
            cv2.imwrite(osp.join(ld, f'{name}_gtFine_labelTrainIds.png'), lab)
        if translate is not None:
            td = osp.join(root, 'day2night', 'leftImg8bit', split, city)
            os.makedirs(td, exist_ok=True)
            cv2.imwrite(osp.join(td, f'{name}_leftImg8bit.png'),
                        translate(img))
    return (osp.join(root, 'cityscapes'),
            osp.join(root, 'day2night', 'leftImg8bit', split))


def _pair_dataset(root, translated_dir, pipeline=None, **kw):
    from mmda.registry import DATASETS
    cfg = dict(
        type='Day2NightCityscapesDataset', data_root=root,
        data_prefix=dict(img_path='leftImg8bit/train',
                         seg_map_path='gtFine/train'),
        translated_dir=translated_dir,
        pipeline=pipeline if pipeline is not None else [
            dict(type='LoadImageFromFile'),
            dict(type='LoadTranslatedImage'),
            dict(type='LoadAnnotations'),
            dict(type='RandomCrop', crop_size=(16, 16)),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackTranslatedSegInputs'),
        ])
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_day2night_dataset_missing_translations_name_folder_and_command(
        tmp_path):
    root, out = _fake_cityscapes(str(tmp_path))  # nothing translated
    with pytest.raises(FileNotFoundError) as e:
        _pair_dataset(root, out)
    msg = str(e.value)
    assert repr(out) in msg and 'does not exist' in msg
    assert ('python tools/translate.py configs/cyclegan/city2night.py '
            'work_dirs/city2night/iter_700000.pth --src '
            f'{osp.join(root, "leftImg8bit/train")} --out {out} --scale 0.5'
            ) in msg
    assert "translation='online'" in msg
    # a partly written folder: the missing images are counted and named
    os.makedirs(osp.join(out, 'aachen'))
    import shutil
    shutil.copy(
        osp.join(root, 'leftImg8bit/train/aachen/'
                 'aachen_000000_000019_leftImg8bit.png'),
        osp.join(out, 'aachen', 'aachen_000000_000019_leftImg8bit.png'))
    with pytest.raises(FileNotFoundError,
                       match=r'1 of 2 images .* no translation') as e:
        _pair_dataset(root, out)
    assert 'aachen_000001_000019_leftImg8bit.png' in str(e.value)
    assert '--out ' + out in str(e.value)
    with pytest.raises(KeyError, match='translated_dir'):
        _pair_dataset(root, None)


def test_day2night_pairs_stay_aligned_through_crop_flip_and_resize(
        tmp_path):
    import cv2
    import numpy as np
    from mmcv.transforms import Resize
    root, out = _fake_cityscapes(str(tmp_path), translate=lambda x: 255 - x)
    ds = _pair_dataset(root, out)
    assert len(ds) == 2
    info = ds.get_data_info(0)
    assert info['translated_img_path'] == osp.join(
        out, 'aachen', 'aachen_000000_000019_leftImg8bit.png')
    flips = set()
    for i in range(12):
        item = ds[i % 2]
        day, trans = item['inputs'], item['translated_inputs']
        assert day.shape == trans.shape == (3, 16, 16)
        assert day.dtype == trans.dtype == torch.uint8
        # the same crop and flip for both (translation = 255 - day here)
        assert torch.equal(trans, 255 - day)
        flips.add(item['data_samples'].flip)
        assert item['data_samples'].gt_sem_seg.data.shape == (1, 16, 16)
    assert flips == {True, False}
    # resizing the stacked 6-channel image equals resizing each image
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    rs = Resize(scale=(57, 31), keep_ratio=True)
    both = rs(dict(img=np.concatenate([a, b], 2)))['img']
    assert both.shape[2] == 6
    for k, x in enumerate((a, b)):
        assert np.array_equal(both[..., 3 * k:3 * k + 3],
                              rs(dict(img=x))['img'])
    # a translation of another size is refused with both file names
    bad = osp.join(out, 'aachen', 'aachen_000001_000019_leftImg8bit.png')
    cv2.imwrite(bad, np.zeros((12, 20, 3), np.uint8))
    with pytest.raises(ValueError, match='input size') as e:
        ds[1]
    assert bad in str(e.value)


def test_offline_translations_reach_the_student_normalised(tmp_path):
    from mmda.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    root, out = _fake_cityscapes(str(tmp_path), size=(32, 64),
                                 translate=lambda x: 255 - x)
    pipe = [dict(type='LoadImageFromFile'), dict(type='LoadTranslatedImage'),
            dict(type='LoadAnnotations'), dict(type='RandomFlip', prob=0.5),
            dict(type='PackTranslatedSegInputs')]
    uda = DATASETS.build(dict(
        type='UDADataset',
        source=dict(type='Day2NightCityscapesDataset', data_root=root,
                    translated_dir=out, pipeline=pipe),
        target=dict(type='CityscapesDataset', data_root=root,
                    data_prefix=dict(img_path='leftImg8bit/train'),
                    pipeline=[dict(type='LoadImageFromFile'),
                              dict(type='PackSegInputs')]),
        seed=0))
    batch = pseudo_collate([uda[0], uda[1]])
    assert len(batch['translated_inputs']) == 2
    model = build_mt(translation='offline', translator=None, dropout=0.0)

    def no_online(img):
        raise AssertionError('offline mode must not run a translator')
    model.translate = no_online
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    # normalised exactly like `inputs` (RGB, mean/std)
    raw = torch.stack(batch['translated_inputs']).float()[:, [2, 1, 0]]
    assert torch.allclose(data['translated_inputs'], _norm(raw))
    assert torch.allclose(data['translated_inputs'],
                          _norm(255 - _denorm(data['inputs'])), atol=1e-4)
    assert model.get_translated(data) is not None
    assert torch.equal(model.get_translated(data), data['translated_inputs'])
    # the supervised views are x_s and the dataset's G_ST(x_s)
    model.ssl_weight = 0.0
    log = model.forward_train(data, sgd(model))
    model._n_backward = 0
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    with torch.no_grad():
        logits = model.student(
            torch.cat([data['inputs'], data['translated_inputs']]),
            mode='tensor')
        logits = F.interpolate(logits, size=(H, W), mode='bilinear',
                               align_corners=model.align_corners)
        ce = F.cross_entropy(logits, torch.cat([labels, labels]),
                             ignore_index=255, reduction='none')
    assert log['loss'].item() == pytest.approx(
        (ce[:2].mean() + ce[2:].mean()).item(), rel=1e-4)
    # full step with both consistency terms
    model.ssl_weight = 1.0
    log = model.train_step(copy.deepcopy(batch), sgd(model))
    assert 'ssl.loss_day' in log and torch.isfinite(log['loss'])

    # offline without translations: a clear error naming the dataset
    plain = {k: v for k, v in batch.items() if k != 'translated_inputs'}
    with pytest.raises(KeyError, match='Day2NightCityscapesDataset'):
        model.train_step(copy.deepcopy(plain), sgd(model))
    # online with offline translations in the batch: refused
    online = build_mt()
    with pytest.raises(ValueError, match="translation='offline'"):
        online.train_step(copy.deepcopy(batch), sgd(online))
    with pytest.raises(ValueError, match='translation'):
        build_mt(translation='offline')  # a translator would be unused
    with pytest.raises(ValueError, match='translation'):
        build_mt(translation='cached', translator=None)


def test_cs2night_configs_translate_offline_by_default():
    """Table 1 translates Cityscapes *before* segmentation training: every
    cs2night* config with translated images reads the offline copy, except
    the named on-the-fly variant."""
    for name in CS2NIGHT_CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mean_teacher',
                                       name))
        m = cfg.model
        if not (m.sup_translated or m.day_consistency):
            continue
        ds = cfg.train_dataloader.dataset
        src = ds.source if ds.type == 'UDADataset' else ds
        pipe = [t['type'] for t in src.pipeline]
        if name == 'cs2night_online_translation.py':
            assert m.translation == 'online' and m.translator.checkpoint
            assert src.type == 'CityscapesDataset', name
            assert 'LoadTranslatedImage' not in pipe
            continue
        assert m.translation == 'offline' and m.translator is None, name
        assert src.type == 'Day2NightCityscapesDataset', name
        assert src.translated_dir.startswith('data/cityscapes_day2night')
        assert pipe[:2] == ['LoadImageFromFile', 'LoadTranslatedImage']
        assert pipe[-1] == 'PackTranslatedSegInputs'
        # no photometric transform between load and pack
        assert set(pipe) <= {'LoadImageFromFile', 'LoadTranslatedImage',
                             'LoadAnnotations', 'Resize', 'RandomCrop',
                             'RandomFlip', 'PackTranslatedSegInputs'}


# ------------------------------------ "all images from CS" day pair (item 11)
def test_day_consistency_on_an_extra_unlabelled_day_stream(tmp_path):
    from mmda.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    root, out = _fake_cityscapes(str(tmp_path), size=(32, 64),
                                 translate=lambda x: 255 - x)
    _, out_test = _fake_cityscapes(
        str(tmp_path), names=('berlin_000000_000019', ), size=(32, 64),
        translate=lambda x: x // 2, split='test', labels=False)
    pair = [dict(type='LoadImageFromFile'), dict(type='LoadTranslatedImage'),
            dict(type='LoadAnnotations'), dict(type='PackTranslatedSegInputs')]
    uda = DATASETS.build(dict(
        type='UDADataset',
        source=dict(type='Day2NightCityscapesDataset', data_root=root,
                    translated_dir=out, pipeline=pair),
        target=dict(type='CityscapesDataset', data_root=root,
                    data_prefix=dict(img_path='leftImg8bit/train'),
                    pipeline=[dict(type='LoadImageFromFile'),
                              dict(type='PackSegInputs')]),
        extra=dict(day=dict(
            type='Day2NightCityscapesDataset', data_root=root,
            data_prefix=dict(img_path='leftImg8bit/test'),
            translated_dir=out_test,
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadTranslatedImage'),
                      dict(type='PackTranslatedSegInputs')])),
        seed=0))
    item = uda[0]
    assert {'day_inputs', 'day_translated_inputs', 'day_data_samples',
            'translated_inputs'} <= set(item)
    assert torch.equal(item['day_translated_inputs'], item['day_inputs'] // 2)
    batch = pseudo_collate([uda[0], uda[1]])
    model = build_mt(translation='offline', translator=None, dropout=0.0,
                     day_images='all')
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    assert data['day_inputs'].shape == data['inputs'].shape
    assert not torch.allclose(data['day_inputs'], data['inputs'])
    seen = []
    orig = model.teacher_probs

    def spy(img):
        seen.append(img)
        return orig(img)
    model.teacher_probs = spy
    log = model.forward_train(data, sgd(model))
    model._n_backward = 0
    assert 'ssl.loss_day' in log
    # teacher inputs: A_w(x_t), x_t (night mask), then the extra day images
    assert torch.equal(seen[0][-2:], data['day_inputs'])
    # without the stream: a clear error
    plain = {k: v for k, v in batch.items() if not k.startswith('day_')}
    with pytest.raises(KeyError, match='extra=dict\\(day='):
        model.train_step(copy.deepcopy(plain), sgd(model))
    with pytest.raises(ValueError, match='day_images'):
        build_mt(day_images='every')
    with pytest.raises(ValueError, match='extra stream name'):
        DATASETS.build(dict(type='UDADataset', source=uda.source,
                            target=uda.target, extra={'target': uda.source}))


def test_all_cs_day_image_configs():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mean_teacher',
                                   'cs2night_all_cs_day.py'))
    assert cfg.model.day_images == 'all'
    day = cfg.train_dataloader.dataset.extra.day
    dirs = [d.data_prefix.img_path for d in day.datasets]
    assert dirs == ['leftImg8bit/train', 'leftImg8bit/train_extra',
                    'leftImg8bit/test']
    for d in day.datasets:
        assert d.type == 'Day2NightCityscapesDataset'
        assert 'seg_map_path' not in d.data_prefix  # unlabelled
        assert d.translated_dir.endswith(d.data_prefix.img_path)
    # the default keeps the labelled images for the day pair
    base = Config.fromfile(osp.join(ROOT, 'configs', 'mean_teacher',
                                    'cs2night.py'))
    assert base.model.get('day_images', 'labelled') == 'labelled'
    cg = Config.fromfile(osp.join(ROOT, 'configs', 'cyclegan',
                                  'city2night_all_cs.py'))
    dirs = [s.img_dir for s in cg.train_dataloader.dataset.domain_a.sources]
    assert dirs == ['leftImg8bit/train', 'leftImg8bit/train_extra',
                    'leftImg8bit/test']


def test_cs2night_without_the_translated_folder_says_how_to_write_it(
        tmp_path, monkeypatch):
    from mmda.registry import DATASETS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mean_teacher',
                                   'cs2night.py'))
    os.makedirs(tmp_path / 'data')
    _fake_cityscapes(str(tmp_path / 'data'))  # day images, no translation
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        DATASETS.build(cfg.train_dataloader.dataset.to_dict())
    msg = str(e.value)
    assert "'data/cityscapes_day2night/leftImg8bit/train'" in msg
    assert ('python tools/translate.py configs/cyclegan/city2night.py '
            'work_dirs/city2night/iter_700000.pth --src '
            'data/cityscapes/leftImg8bit/train --out '
            'data/cityscapes_day2night/leftImg8bit/train --scale 0.5') in msg
    assert 'cs2night_online_translation.py' in msg
