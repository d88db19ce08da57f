"""Tests of ParamRampHook (generic schedules of model attributes)."""
import math

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel

from mmda.engine.hooks.ramp_hook import ParamRampHook, Ramp
from mmda.models.uda.pseudo_label import sigmoid_rampup
from mmda.registry import HOOKS


@pytest.mark.parametrize('mode,expected', [
    ('linear', {0: 0.5, 25: 0.6, 50: 0.7, 99: 0.896, 100: 0.9, 500: 0.9}),
    ('cosine', {0: 0.5, 25: 0.5 + 0.4 * (1 - math.cos(math.pi / 4)) / 2,
                50: 0.7, 100: 0.9, 200: 0.9}),
    ('sigmoid', {0: 0.5 + 0.4 * math.exp(-5), 50: 0.5 + 0.4 * math.exp(-1.25),
                 100: 0.9}),
    ('constant', {0: 0.5, 99: 0.5, 100: 0.9}),
])
def test_ramp_values(mode, expected):
    ramp = Ramp(attr='thr', start=0.5, end=0.9, end_iter=100, mode=mode)
    for it, value in expected.items():
        assert ramp.value(it) == pytest.approx(value), (mode, it)


def test_old_registered_name_builds_the_same_hook():
    """Configs written before the rename (type='ConfidenceRampHook') keep
    working: the name is an alias of ParamRampHook."""
    ramps = [dict(attr='confidence_threshold', start=0.5, end=0.9)]
    old = HOOKS.build(dict(type='ConfidenceRampHook', ramps=ramps))
    new = HOOKS.build(dict(type='ParamRampHook', ramps=ramps))
    assert type(old) is type(new) is ParamRampHook
    assert old.values(50, 100) == new.values(50, 100) == {
        'confidence_threshold': pytest.approx(0.7)}


def test_sigmoid_matches_thesis_ramp():
    ramp = Ramp(attr='w', start=0.0, end=1.0, end_iter=10000, mode='sigmoid')
    for k in (0, 1000, 5000, 9999, 10000, 12000):
        assert ramp.value(k) == pytest.approx(sigmoid_rampup(k, 10000))


def test_begin_warmup_and_max_iters():
    # Scherer et al.: lambda_ssl 0 during a 10k warm-up, then 50 -> 100
    ramp = Ramp(attr='ssl_weight', start=50., end=100., begin=10000,
                warmup_value=0.)
    assert ramp.value(0, max_iters=50000) == 0.0
    assert ramp.value(9999, max_iters=50000) == 0.0
    assert ramp.value(10000, max_iters=50000) == 50.0
    assert ramp.value(30000, max_iters=50000) == 75.0
    assert ramp.value(50000, max_iters=50000) == 100.0
    # no warmup_value: the start value before begin
    assert Ramp('a', 1., 2., begin=5).value(3, max_iters=10) == 1.0
    with pytest.raises(ValueError, match='max_iters'):
        ramp.value(5)


def test_bad_configs():
    with pytest.raises(ValueError, match='unknown mode'):
        ParamRampHook(ramps=[dict(attr='a', start=0, end=1, mode='exp')])
    with pytest.raises(KeyError, match='end'):
        ParamRampHook(ramps=[dict(attr='a', start=0)])
    with pytest.raises(ValueError, match='end_iter'):
        ParamRampHook(
            ramps=[dict(attr='a', start=0, end=1, begin=10, end_iter=5)])
    with pytest.raises(TypeError, match='ramps\\[0\\]'):
        ParamRampHook(ramps=[dict(attr='a', start=0, end=1, foo=2)])
    with pytest.raises(ValueError, match='duplicated'):
        ParamRampHook(ramps=[
            dict(attr='a', start=0, end=1),
            dict(attr='a', start=1, end=2)
        ])
    with pytest.raises(ValueError, match='non-empty'):
        ParamRampHook(ramps=[])
    with pytest.raises(ValueError, match='attr'):
        Ramp(attr='head..w', start=0, end=1)


class Head(nn.Module):

    def __init__(self):
        super().__init__()
        self.loss_weight = 1.0


class Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.head = Head()
        self.pseudo_threshold = 0.0
        self.linear = nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class FakeRunner:

    def __init__(self, model, max_iters=100):
        self.model = model
        self.iter = 0
        self.max_iters = max_iters
        self.message_hub = MessageHub.get_instance('test_ramp_hook')


def test_hook_sets_attributes_with_dotted_paths_and_wrapper():
    model = Model()
    hook = HOOKS.build(
        dict(type='ParamRampHook', ramps=[
            dict(attr='pseudo_threshold', start=0.5, end=0.9),
            dict(attr='head.loss_weight', start=0.0, end=2.0, begin=20,
                 end_iter=60, mode='cosine', warmup_value=-1.0),
        ]))
    assert isinstance(hook, ParamRampHook)
    runner = FakeRunner(nn.DataParallel(model), max_iters=100)
    hook.before_train(runner)
    assert model.pseudo_threshold == 0.5 and model.head.loss_weight == -1.0
    for it, thr, w in ((10, 0.54, -1.0), (40, 0.66, 1.0), (60, 0.74, 2.0),
                       (99, 0.896, 2.0)):
        runner.iter = it
        hook.before_train_iter(runner, batch_idx=it)
        assert model.pseudo_threshold == pytest.approx(thr)
        assert model.head.loss_weight == pytest.approx(w)
    hub = runner.message_hub
    assert hub.get_scalar('train/pseudo_threshold').current() == \
        pytest.approx(0.896)
    assert hub.get_scalar('train/head.loss_weight').current() == 2.0
    # stateless: jumping back (e.g. resuming at iteration 10) is consistent
    runner.iter = 10
    hook.before_train_iter(runner, batch_idx=0)
    assert model.pseudo_threshold == pytest.approx(0.54)


def test_hook_fills_tensor_attributes_in_place():
    model = Model()
    model.register_buffer('rho', torch.zeros((), dtype=torch.float64))
    buf = model.rho
    hook = ParamRampHook(
        ramps=[dict(attr='rho', start=0.5, end=0.9, end_iter=4)], log=False)
    runner = FakeRunner(model)
    runner.iter = 2
    hook.before_train_iter(runner, batch_idx=2)
    assert model.rho is buf and model.rho.dtype == torch.float64
    assert float(model.rho) == pytest.approx(0.7)
    assert 'rho' in model.state_dict()


def test_hook_missing_attribute_fails_early():
    hook = ParamRampHook(
        ramps=[dict(attr='head.pseudo_thr', start=0.5, end=0.9)])
    with pytest.raises(AttributeError, match="'head.pseudo_thr'"):
        hook.before_train(FakeRunner(Model()))
    hook = ParamRampHook(
        ramps=[dict(attr='neck.w', start=0.5, end=0.9)])
    with pytest.raises(AttributeError, match="'neck'"):
        hook.before_train(FakeRunner(Model()))


@pytest.mark.slow
def test_hook_in_runner_with_resume(tmp_path):
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    seen = {}

    class Record(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen[runner.iter] = runner.model.pseudo_threshold

    def make(work_dir, name, resume_from=None):
        data = [dict(inputs=torch.ones(1)) for _ in range(4)]
        return Runner(
            model=Model(),
            work_dir=str(work_dir),
            experiment_name=name,
            train_dataloader=dict(
                dataset=data,
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=1,
                num_workers=0,
                collate_fn=dict(type='default_collate')),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=False, max_iters=6),
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook', interval=3, by_epoch=False)),
            custom_hooks=[
                dict(type='ParamRampHook',
                     ramps=[dict(attr='pseudo_threshold', start=0.0,
                                 end=0.6)]),
                Record()
            ],
            default_scope='mmda',
            load_from=resume_from,
            resume=resume_from is not None)

    make(tmp_path / 'a', 'ramp_full').train()
    # end_iter=None -> max_iters = 6: 0.1 per iteration
    assert seen == pytest.approx({i: 0.1 * i for i in range(6)})
    seen.clear()
    make(tmp_path / 'b', 'ramp_resumed',
         resume_from=str(tmp_path / 'a' / 'iter_3.pth')).train()
    assert seen == pytest.approx({i: 0.1 * i for i in range(3, 6)})


# ---------------------------------------------------------------------------
# Ramps relative to train_cfg.max_iters (issue 14 item 4): shortening a
# schedule is the single override train_cfg.max_iters=N.
def test_ratio_positions_resolve_against_max_iters():
    ramp = Ramp('ssl_weight', 50., 100., begin_ratio=0.2, warmup_value=0.)
    # the paper's schedule: warm-up 10k of 50k
    assert ramp.resolve(50000) == (10000, 50000)
    assert ramp.value(9999, 50000) == 0.0
    assert ramp.value(30000, 50000) == 75.0
    # a 2-iteration smoke run: floor(0.4) = 0, the ramp spans [0, 2)
    assert ramp.resolve(2) == (0, 2)
    assert [ramp.value(k, 2) for k in (0, 1, 2)] == [50.0, 75.0, 100.0]
    # end_ratio rounds up, begin_ratio down: always a non-empty span
    r = Ramp('a', 0., 1., begin_ratio=0.5, end_ratio=0.6)
    assert r.resolve(1) == (0, 1)
    assert r.resolve(100) == (50, 60)
    with pytest.raises(ValueError, match='max_iters'):
        ramp.value(0)


def test_ratio_config_errors_name_the_key():
    with pytest.raises(ValueError, match='begin.*begin_ratio.*not both'):
        Ramp('a', 0., 1., begin=3, begin_ratio=0.2)
    with pytest.raises(ValueError, match='end_iter.*end_ratio.*not both'):
        Ramp('a', 0., 1., end_iter=3, end_ratio=0.5)
    with pytest.raises(ValueError, match='begin_ratio must be in'):
        Ramp('a', 0., 1., begin_ratio=1.0)
    with pytest.raises(ValueError, match='end_ratio must be in'):
        Ramp('a', 0., 1., end_ratio=0.0)
    with pytest.raises(ValueError, match='end_ratio .* must be > '
                       'begin_ratio'):
        Ramp('a', 0., 1., begin_ratio=0.5, end_ratio=0.5)
    with pytest.raises(ValueError, match='begin is an iteration number'):
        Ramp('a', 0., 1., begin=0.2)
    # an absolute end before a ratio begin is found once max_iters is known
    with pytest.raises(ValueError, match="'a'.*end_iter resolves to"):
        Ramp('a', 0., 1., begin_ratio=0.5, end_iter=10).resolve(100)


def test_ramp_that_does_not_fit_stops_at_start_naming_the_key():
    # absolute warm-up longer than the run: today's cs2night with
    # train_cfg.max_iters=2 (begin=10000) must name the key and the fix
    hook = ParamRampHook(ramps=[
        dict(attr='pseudo_threshold', start=0.5, end=0.9),
        dict(attr='head.loss_weight', start=50., end=100., begin=10000,
             warmup_value=0.),
    ])
    with pytest.raises(ValueError,
                       match=r"ramps\[1\] \(attr 'head.loss_weight'\): "
                       r'begin=10000 is not before train_cfg.max_iters=2.*'
                       'begin_ratio'):
        hook.before_train(FakeRunner(Model(), max_iters=2))
    # an absolute end after the run never reaches its end value
    hook = ParamRampHook(ramps=[
        dict(attr='pseudo_threshold', start=0.5, end=0.9, end_iter=50)])
    with pytest.raises(ValueError, match=r'ramps\[0\].*end_iter=50 is after '
                       r'train_cfg.max_iters=10.*end_ratio'):
        hook.before_train(FakeRunner(Model(), max_iters=10))
    # fits: no error
    hook.before_train(FakeRunner(Model(), max_iters=50))


def test_mean_teacher_config_shortened_by_max_iters_only():
    """`--cfg-options train_cfg.max_iters=2` on the real mean-teacher config:
    its ramps follow (before: 'end_iter (2) must be > begin (10000)')."""
    import os.path as osp

    from mmengine.config import Config
    from tests.helpers import ROOT as root
    cfg = Config.fromfile(
        osp.join(root, 'configs', 'mean_teacher', 'cs2night.py'))
    cfg.merge_from_dict({'train_cfg.max_iters': 2})
    hook_cfg = [h for h in cfg.custom_hooks
                if h['type'] in ('ParamRampHook', 'ConfidenceRampHook')][0]
    hook = HOOKS.build(hook_cfg)

    model = Model()
    model.confidence_threshold = -1.0
    model.ssl_weight = -1.0
    runner = FakeRunner(model, max_iters=cfg.train_cfg.max_iters)
    hook.before_train(runner)
    seen = []
    for k in range(2):
        runner.iter = k
        hook.before_train_iter(runner, batch_idx=k)
        seen.append((model.confidence_threshold, model.ssl_weight))
    assert seen == [(0.5, 50.0), (0.7, 75.0)]
    # the full schedule is unchanged: 10k-iteration warm-up of 50k
    full = HOOKS.build(Config.fromfile(
        osp.join(root, 'configs', 'mean_teacher', 'cs2night.py')
    ).custom_hooks[1])
    assert full.ramps[1].resolve(50000) == (10000, 50000)
    assert full.values(9999, 50000)['ssl_weight'] == 0.0
    assert full.values(10000, 50000)['ssl_weight'] == 50.0
