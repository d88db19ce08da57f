"""Mixed precision through mmengine's ``AmpOptimWrapper`` on CPU.

``AmpOptimWrapper`` refuses to be built without an accelerator and its
``torch.cuda.amp.GradScaler`` disables itself on CPU, so the tests patch the
accelerator check and give each wrapper an enabled CPU ``GradScaler``: the
step then runs exactly mmengine's AMP path (bf16 autocast in
``optim_context``, scaled backward, unscale before clipping, scaler step).
A network stepped by a wrapper whose scaler never scaled a loss fails with
``Attempted unscale_ but _scale is None`` (the CycleGAN bug of issue 15).
"""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from tests.helpers import METHODS, build, trainable_state, uda_batch
from mmda.models.utils import UpdateTracker


@pytest.fixture
def amp_on_cpu(monkeypatch):
    """Allow ``AmpOptimWrapper`` on CPU; return ``enable(optim_wrapper)``
    which gives every wrapper an enabled CPU loss scaler."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_mod
    monkeypatch.setattr(amp_mod, 'is_cuda_available', lambda: True)

    def enable(optim_wrapper):
        wrappers = optim_wrapper.values() if isinstance(
            optim_wrapper, OptimWrapperDict) else [optim_wrapper]
        for w in wrappers:
            assert isinstance(w, AmpOptimWrapper)
            w.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0**10)
        return list(wrappers)

    return enable


def _record_autocast_dtypes(model):
    """dtypes of every convolution output during the step."""
    seen = []

    def hook(module, args, out):
        if isinstance(out, torch.Tensor):
            seen.append(out.dtype)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d)]
    return seen, handles


@pytest.mark.parametrize('name', METHODS)
def test_one_amp_train_step_of_every_model(name, amp_on_cpu):
    model, batch_fn, optim_fn = build(name)
    ref_model = copy.deepcopy(model)
    wrap_kwargs = dict(clip_grad=dict(max_norm=5.0)) \
        if name in ('cyclegan', 'ass') else {}
    ow = optim_fn(model, 'AmpOptimWrapper', **wrap_kwargs)
    wrappers = amp_on_cpu(ow)
    before = trainable_state(model)
    seen, handles = _record_autocast_dtypes(model)
    try:
        log_vars = model.train_step(batch_fn(0), ow)
    finally:
        for h in handles:
            h.remove()
    assert torch.bfloat16 in seen, 'no convolution ran under bf16 autocast'
    assert all(torch.isfinite(v).all() for v in log_vars.values())
    # every wrapper's scaler scaled a loss and stepped (the scale exists and
    # the optimizer moved its parameters)
    for w in wrappers:
        assert w.loss_scaler._scale is not None
        params = [p for g in w.param_groups for p in g['params']]
        assert params
    after = trainable_state(model)
    moved = {k.split('.')[0] for k in before
             if not torch.equal(before[k], after[k])}
    expected = {'cyclegan': {'gen_a2b', 'gen_b2a', 'disc_a', 'disc_b'},
                'ass': {'student', 'global_discriminator',
                        'semantic_discriminator'}}.get(name, {'student'})
    assert expected <= moved, (name, moved)

    # the same losses as full precision, within bf16 rounding
    ref_log = ref_model.train_step(batch_fn(0), optim_fn(ref_model))
    for k in ('loss', 'loss_gen', 'loss_disc'):
        if k in ref_log:
            assert float(log_vars[k]) == pytest.approx(
                float(ref_log[k]), rel=0.1, abs=1e-3), k


def test_amp_sie_train_step(amp_on_cpu):
    """SIE's step (``mmda/models/segmentors/sie.py``, with a built plain
    segmentor as its student): a source and an example batch
    back-propagated through the one wrapper, under autocast, one update."""
    from tests.helpers import tiny_segmentor

    from mmda.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(tiny_segmentor())
    model.init_weights()
    model.train()
    ow = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(),
                                                   lr=0.01))
    amp_on_cpu(ow)
    sie = MODELS.build(dict(type='SIE', segmentor=model,
                            train_cfg=dict(seed=0)))
    batch = lambda b: dict(inputs=b['inputs'],  # noqa: E731
                           data_samples=b['data_samples'])
    before = trainable_state(model)
    seen, handles = _record_autocast_dtypes(model)
    out = sie.train_step(dict(source=batch(uda_batch(0)),
                              examples=batch(uda_batch(1))), ow)
    for h in handles:
        h.remove()
    assert torch.bfloat16 in seen
    assert torch.isfinite(out['loss'])
    assert {'src.decode.loss_ce', 'sie.decode.loss_ce'} <= set(out)
    assert ow.loss_scaler._scale is not None
    after = trainable_state(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)


# ------------------------------------------- several passes, one update
def _linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(3, 2)


def _losses(model, i):
    g = torch.Generator().manual_seed(i)
    x1, x2 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    return model(x1).pow(2).mean(), model(x2).abs().mean()


def test_update_tracker_several_passes_with_gradient_accumulation():
    """Two passes per step, ``accumulative_counts=2``: one SGD step every
    two iterations with the mean over iterations of the summed losses."""
    model = _linear()
    ref = copy.deepcopy(model)
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5),
                      accumulative_counts=2)
    ow.initialize_count_status(model, 0, 4)
    tracker = UpdateTracker()
    steps = []
    orig = ow.step
    ow.step = lambda **kw: (steps.append(1), orig(**kw))
    for i in range(4):
        tracker.reset()
        l1, l2 = _losses(model, i)
        tracker.backward(ow, l1)
        tracker.backward(ow, l2)
        tracker.step(ow)
        assert ow.inner_count == i + 1
    assert len(steps) == 2
    # by hand
    opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    for start in (0, 2):
        opt.zero_grad()
        for i in (start, start + 1):
            l1, l2 = _losses(ref, i)
            ((l1 + l2) / 2).backward()
        opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_update_tracker_scales_every_pass_under_amp(amp_on_cpu):
    model = _linear()
    ref = copy.deepcopy(model)
    ow = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(),
                                                   lr=0.5),
                         clip_grad=dict(max_norm=100.0))
    amp_on_cpu(ow)
    tracker = UpdateTracker()
    l1, l2 = _losses(model, 0)
    tracker.backward(ow, l1)
    tracker.backward(ow, l2)
    scale = ow.loss_scaler.get_scale()
    grads = [p.grad.clone() / scale for p in model.parameters()]
    tracker.step(ow)
    r1, r2 = _losses(ref, 0)
    (r1 + r2).backward()
    for g, p in zip(grads, ref.parameters()):
        torch.testing.assert_close(g, p.grad)
    opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q)
    with pytest.raises(RuntimeError, match='without a backward'):
        tracker.step(ow)
