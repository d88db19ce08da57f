"""tools/train.py, tools/demo.py's way, the benchmarks' way (Runner.from_cfg
on the loaded config) build the same runner: the same hooks and the same
optim wrapper types, the guards included (they are in
configs/_base_/default_runtime.py, not added by a tool)."""
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner

from tests.helpers import ROOT

CONFIGS = [
    'configs/source_only/toy_source_only.py',
    'configs/dacs/toy_dacs.py',
    'configs/mean_teacher/toy_full.py',
    'configs/ass/toy_ga_csa.py',
    'configs/cyclegan/toy_day2night.py',
    'configs/sie/toy_sie.py',
]
GUARD_HOOKS = {'SanityCheckHook', 'NonFiniteGuardHook', 'NormStatsGuardHook'}


def _load_train_tool():
    spec = importlib.util.spec_from_file_location(
        'mmda_tools_train', osp.join(ROOT, 'tools', 'train.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _summary(runner):
    """Hook types (in call order) and optim wrapper types after the
    runner's ``before_run`` (when the guard turns the wrappers)."""
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.call_hook('before_run')
    ow = runner.optim_wrapper
    types = {k: type(w).__name__ for k, w in ow.items()} if isinstance(
        ow, OptimWrapperDict) else type(ow).__name__
    return [type(h).__name__ for h in runner.hooks], types


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_entry_points_build_the_same_runner(config, tmp_path):
    path = osp.join(ROOT, config)
    train = _load_train_tool()
    by_tool = _summary(train.build_train_runner(train.parse_args(
        [path, '--work-dir', str(tmp_path / 'train')])))

    cfg = Config.fromfile(path)  # the benchmarks / a user's script
    cfg.work_dir = str(tmp_path / 'plain')
    plain = _summary(Runner.from_cfg(cfg))

    from mmda.registry import RUNNERS  # tools/demo.py's way
    from mmda.utils.config import load_config
    from mmda.utils.launch import prepare_cfg_for_device
    cfg = load_config(path)
    cfg.work_dir = str(tmp_path / 'demo')
    prepare_cfg_for_device(cfg)
    demo = _summary(RUNNERS.build(cfg))

    assert by_tool == plain == demo
    hooks, wrappers = plain
    assert GUARD_HOOKS <= set(hooks), hooks
    for t in (wrappers.values() if isinstance(wrappers, dict)
              else [wrappers]):
        assert t == 'GuardedOptimWrapper', wrappers


def test_guards_can_be_switched_off(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dacs/toy_dacs.py'))
    cfg.work_dir = str(tmp_path)
    cfg.merge_from_dict({'sanity_check': False, 'max_nonfinite_steps': 0})
    runner = Runner.from_cfg(cfg)
    hooks, wrappers = _summary(runner)
    sanity = [h for h in runner.hooks if type(h).__name__ == 'SanityCheckHook']
    assert sanity[0].enabled is False
    assert wrappers == 'OptimWrapper'


def test_amp_option_keeps_the_guard(tmp_path):
    train = _load_train_tool()
    runner = train.build_train_runner(train.parse_args([
        osp.join(ROOT, 'configs/cyclegan/toy_day2night.py'), '--work-dir',
        str(tmp_path)]))
    cfg = runner.cfg
    train.enable_amp(cfg)
    for k in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b'):
        assert cfg.optim_wrapper[k].type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper[k].loss_scale == 'dynamic'
    with pytest.raises(ValueError, match='--amp supports'):
        train.enable_amp(Config(dict(optim_wrapper=dict(
            type='ApexOptimWrapper', optimizer=dict(type='SGD', lr=0.1)))))


def test_nonfinite_guard_hook_turns_the_built_wrappers():
    import types

    import torch
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    from mmda.engine.hooks.nonfinite_guard_hook import NonFiniteGuardHook
    from mmda.engine.optim_wrappers.nonfinite_guard import (
        GuardedAmpOptimWrapper, GuardedOptimWrapper)
    from mmengine.optim import PolyLR
    lin = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    ow = OptimWrapperDict(a=OptimWrapper(opt))
    # the runner builds the schedulers (which wrap ``step``) before the hooks
    PolyLR(ow['a'], end=10, by_epoch=False)
    runner = types.SimpleNamespace(cfg=Config(dict(max_nonfinite_steps=3)),
                                   optim_wrapper=ow)
    hook = NonFiniteGuardHook()
    hook.before_run(runner)
    w = ow['a']
    assert type(w) is GuardedOptimWrapper and w.optimizer is opt
    assert w.max_consecutive == 3 and hook.guarded == ['a']
    before = lin.weight.detach().clone()
    w.update_params(lin(torch.ones(1, 2)).sum() * float('nan'))
    assert torch.equal(before, lin.weight) and w.total_skipped == 1
    assert w.inner_count == 1  # the skipped pass is still counted
    w.update_params(lin(torch.ones(1, 2)).sum())
    assert not torch.equal(before, lin.weight) and w.consecutive_bad == 0
    assert w._global_step == 1  # the schedulers' step counter (from -1)
    # an explicit limit wins; 0 disables; not-training runners are left
    assert GuardedAmpOptimWrapper.__mro__[1].__name__ == '_GuardMixin'
    assert issubclass(GuardedAmpOptimWrapper, AmpOptimWrapper)
    plain = OptimWrapper(torch.optim.SGD(lin.parameters(), lr=0.1))
    NonFiniteGuardHook(max_consecutive=0).before_run(
        types.SimpleNamespace(cfg=Config(), optim_wrapper=plain))
    assert type(plain) is OptimWrapper
    NonFiniteGuardHook(max_consecutive=5).before_run(
        types.SimpleNamespace(cfg=Config(), optim_wrapper=plain))
    assert type(plain) is GuardedOptimWrapper and plain.max_consecutive == 5
    NonFiniteGuardHook().before_run(
        types.SimpleNamespace(cfg=Config(), optim_wrapper=dict(a=1)))
