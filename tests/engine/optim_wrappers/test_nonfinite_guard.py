"""Non-finite losses skip the optimizer step instead of corrupting weights
(mmda/engine/optim_wrappers/nonfinite_guard.py)."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmda.engine.optim_wrappers.nonfinite_guard import (
    GuardedOptimWrapper, NonFiniteLossError, apply_nonfinite_guard)


def _wrapper(max_consecutive=3):
    MessageHub.get_instance('guard_test')
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, GuardedOptimWrapper(opt, max_consecutive=max_consecutive)


def test_finite_loss_updates():
    model, ow = _wrapper()
    before = model.weight.detach().clone()
    ow.update_params(model(torch.ones(1, 2)).sum())
    assert not torch.equal(before, model.weight)
    assert ow.consecutive_bad == 0


def test_nan_loss_skips_and_clears_grads():
    model, ow = _wrapper()
    before = [p.detach().clone() for p in model.parameters()]
    loss = model(torch.ones(1, 2)).sum() * float('nan')
    ow.update_params(loss)
    for b, p in zip(before, model.parameters()):
        assert torch.equal(b, p)
        assert p.grad is None or torch.count_nonzero(p.grad) == 0
    assert ow.consecutive_bad == 1 and ow.total_skipped == 1


def test_one_bad_loss_among_several_backwards_skips_the_step():
    model, ow = _wrapper()
    before = model.weight.detach().clone()
    ow.backward(model(torch.ones(1, 2)).sum())           # fine
    ow.backward(model(torch.ones(1, 2)).sum() * float('inf'))  # bad
    ow.step()
    ow.zero_grad()
    assert torch.equal(before, model.weight)
    assert ow.consecutive_bad == 1


def test_nonfinite_gradient_skips():
    model, ow = _wrapper()
    before = model.weight.detach().clone()
    x = torch.tensor([[0.0, 1.0]], requires_grad=False)
    loss = (model(x) ** 2).sum()
    ow.backward(loss)
    model.weight.grad[0, 0] = float('nan')
    ow.step()
    assert torch.equal(before, model.weight)
    assert ow.total_skipped == 1


def test_consecutive_limit_raises_and_good_step_resets():
    model, ow = _wrapper(max_consecutive=3)
    nan = float('nan')
    ow.update_params(model(torch.ones(1, 2)).sum() * nan)
    ow.update_params(model(torch.ones(1, 2)).sum() * nan)
    ow.update_params(model(torch.ones(1, 2)).sum())  # good: resets the run
    assert ow.consecutive_bad == 0 and ow.total_skipped == 2
    ow.update_params(model(torch.ones(1, 2)).sum() * nan)
    ow.update_params(model(torch.ones(1, 2)).sum() * nan)
    with pytest.raises(NonFiniteLossError, match='3 consecutive'):
        ow.update_params(model(torch.ones(1, 2)).sum() * nan)


def test_apply_guard_to_single_and_multi_optimizer_configs():
    cfg = Config(dict(optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    apply_nonfinite_guard(cfg)
    assert cfg.optim_wrapper.type == 'GuardedOptimWrapper'
    assert cfg.optim_wrapper.max_consecutive == 10
    cfg = Config(dict(max_nonfinite_steps=4, optim_wrapper=dict(
        constructor='MultiOptimWrapperConstructor',
        gen=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4)),
        disc=dict(type='AmpOptimWrapper', optimizer=dict(type='Adam', lr=1e-4)))))
    apply_nonfinite_guard(cfg)
    assert cfg.optim_wrapper.gen.type == 'GuardedOptimWrapper'
    assert cfg.optim_wrapper.disc.type == 'GuardedAmpOptimWrapper'
    assert cfg.optim_wrapper.disc.max_consecutive == 4
    cfg = Config(dict(max_nonfinite_steps=0, optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    apply_nonfinite_guard(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_apply_guard_adds_norm_stats_hook_once():
    cfg = Config(dict(custom_hooks=[dict(type='EMATeacherHook')],
                      optim_wrapper=dict(type='OptimWrapper',
                                         optimizer=dict(type='SGD', lr=0.1))))
    apply_nonfinite_guard(cfg)
    apply_nonfinite_guard(cfg)
    types = [h['type'] for h in cfg.custom_hooks]
    assert types == ['EMATeacherHook', 'NormStatsGuardHook']


class _Runner:

    def __init__(self, model, optim_wrapper):
        self.model = model
        self.optim_wrapper = optim_wrapper


@pytest.mark.parametrize('multi', [False, True])
def test_skipped_step_restores_batchnorm_statistics(multi):
    """A NaN batch's forward would write NaN into the running statistics
    (and from there into an EMA teacher); the hook puts them back, and it
    leaves the statistics of good steps alone."""
    from mmengine.optim import OptimWrapperDict

    from mmda.engine.hooks import NormStatsGuardHook
    MessageHub.get_instance('guard_test')
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.Conv2d(4, 2, 1), nn.InstanceNorm2d(
                              2, track_running_stats=True))
    ow = GuardedOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1),
                             max_consecutive=5)
    if multi:  # e.g. a segmentor + a discriminator, one of them skipping
        other = GuardedOptimWrapper(
            torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))
        ow_dict = OptimWrapperDict(student=ow, disc=other)
    runner = _Runner(model, ow_dict if multi else ow)
    hook = NormStatsGuardHook()
    hook.before_train(runner)
    bn = model[1]

    good = torch.randn(2, 3, 5, 5)
    before = bn.running_mean.clone()
    hook.before_train_iter(runner, 0)
    ow.update_params(model(good).mean())
    hook.after_train_iter(runner, 0)
    assert not torch.equal(bn.running_mean, before)  # a good step counts
    assert int(bn.num_batches_tracked) == 1
    state = {k: v.clone() for k, v in model.state_dict().items()}

    bad = good.clone()
    bad[0, 0, 0, 0] = float('nan')
    hook.before_train_iter(runner, 1)
    ow.update_params(model(bad).mean())
    # without the hook the statistics would now be NaN
    assert torch.isnan(bn.running_mean).any()
    hook.after_train_iter(runner, 1)
    assert ow.total_skipped == 1 and hook.restored == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k

