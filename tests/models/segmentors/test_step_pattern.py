"""The one training-step pattern: every network updated once per step by its
own optim wrapper, whatever the number of backward passes; gradient
accumulation through mmengine's counters; CycleGAN's per-network update
equal to the joint backward of its loss."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from tests.helpers import build, trainable_state
from mmda.models.utils import check_optim_wrapper, frozen, unwrap


def test_gradient_accumulation_through_train_step():
    """accumulative_counts=2: DACS (two backward passes per step) moves the
    student every second iteration and counts one update per iteration."""
    model, batch_fn, optim_fn = build('dacs')
    ow = optim_fn(model, accumulative_counts=2)
    ow.initialize_count_status(model, 0, 4)
    s0 = trainable_state(model.student)
    model.train_step(batch_fn(0), ow)
    assert ow.inner_count == 1
    s1 = trainable_state(model.student)
    params = [k for k, _ in model.student.named_parameters()]
    assert all(torch.equal(s0[k], s1[k]) for k in params)
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.parameters())
    model.train_step(batch_fn(1), ow)
    assert ow.inner_count == 2
    s2 = trainable_state(model.student)
    assert any(not torch.equal(s1[k], s2[k]) for k in params)
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.student.parameters())


def _joint_reference_step(model, data, opts):
    """The CycleGAN step with one joint backward per loss (no AMP)."""
    real_a = data['inputs']['img_a']
    real_b = data['inputs']['img_b']
    with frozen([model.disc_a, model.disc_b]):
        losses, images = model.generator_losses(real_a, real_b)
        loss_gen, _ = model.parse_losses(losses)
        loss_gen.backward()
    for k in ('gen_a2b', 'gen_b2a'):
        opts[k].step()
        opts[k].zero_grad()
    model.update_ema()
    fake_a = model.pool_a.query(images['fake_a'].detach())
    fake_b = model.pool_b.query(images['fake_b'].detach())
    loss_d, _ = model.parse_losses(
        model.discriminator_losses(real_a, real_b, fake_a, fake_b))
    loss_d.backward()
    for k in ('disc_a', 'disc_b'):
        opts[k].step()
        opts[k].zero_grad()
    model.train_steps += 1


def test_cyclegan_per_network_update_equals_joint_backward():
    model, batch_fn, optim_fn = build('cyclegan')
    ref = copy.deepcopy(model)
    ow = optim_fn(model)
    opts = {k: torch.optim.Adam(getattr(ref, k).parameters(), lr=1e-3,
                                betas=(0.5, 0.999))
            for k in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')}
    for i in range(2):
        model.train_step(batch_fn(i), ow)
        _joint_reference_step(ref, ref.data_preprocessor(batch_fn(i), True),
                              opts)
    got, want = trainable_state(model), trainable_state(ref)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-7)


def test_check_optim_wrapper_and_unwrap():
    lin = torch.nn.Linear(2, 2)
    ow = OptimWrapper(torch.optim.SGD(lin.parameters(), lr=0.1))
    assert check_optim_wrapper(ow, ['student'], 'X') == {'student': ow}
    with pytest.raises(TypeError, match='MultiOptimWrapperConstructor'):
        check_optim_wrapper(ow, ['a', 'b'], 'X')
    d = OptimWrapperDict(a=ow)
    with pytest.raises(KeyError, match=r"X.train_step.*\['b'\]"):
        check_optim_wrapper(d, ['a', 'b'], 'X')
    with pytest.raises(TypeError, match='X.train_step'):
        check_optim_wrapper(torch.optim.SGD(lin.parameters(), lr=0.1),
                            ['a'], 'X')
    assert unwrap(torch.nn.DataParallel(lin)) is lin
    assert unwrap(None) is None
    lin.bias.requires_grad_(False)
    with frozen([lin, None]):
        assert not any(p.requires_grad for p in lin.parameters())
    assert lin.weight.requires_grad and not lin.bias.requires_grad
