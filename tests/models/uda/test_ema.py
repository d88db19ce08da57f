"""Tests of the EMA teacher update and EMATeacherHook."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel

from mmda.engine.hooks.ema_teacher_hook import EMATeacherHook
from mmda.models.uda.ema import ema_alpha, ema_update
from mmda.registry import HOOKS


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.fc(x))


def _fill(net, value, nbt=0):
    """Set every float parameter/buffer of ``net`` to ``value``."""
    with torch.no_grad():
        for t in list(net.parameters()) + [net.bn.running_mean,
                                           net.bn.running_var]:
            t.fill_(value)
        net.bn.num_batches_tracked.fill_(nbt)


def _teacher_of(student):
    teacher = copy.deepcopy(student)
    teacher.requires_grad_(False)
    return teacher


def test_alpha_warm_start():
    assert [ema_alpha(0.99, i) for i in range(4)] == pytest.approx(
        [0.0, 0.5, 2 / 3, 0.75])
    assert ema_alpha(0.99, 99) == pytest.approx(0.99)
    assert ema_alpha(0.99, 10**6) == 0.99
    with pytest.raises(ValueError, match='>= 0'):
        ema_alpha(0.99, -1)


def test_first_update_copies_student():
    student, teacher = Net(), Net()  # different random initialisations
    _fill(student, 1.234567, nbt=5)
    a = ema_update(teacher, student, alpha=0.99, step=0)
    assert a == 0.0
    for (n, t), s in zip(teacher.state_dict().items(),
                         student.state_dict().values()):
        assert torch.equal(t, s), n


def test_closed_form_after_k_updates():
    """alpha = 0.6: alpha_i = 0, 1/2, min(2/3, .6) = .6, .6 so that

    t_3 = .6 * .6 * .5 * s0 + .6 * .6 * .5 * s1 + .6 * .4 * s2 + .4 * s3
        = .18 s0 + .18 s1 + .24 s2 + .4 s3.
    """
    student = Net()
    teacher = _teacher_of(student)
    s = [1.0, 2.0, 4.0, 8.0]
    alphas = []
    for step, value in enumerate(s):
        _fill(student, value, nbt=10 + step)
        alphas.append(ema_update(teacher, student, alpha=0.6, step=step))
    assert alphas == [0.0, 0.5, 0.6, 0.6]
    expected = 0.18 * s[0] + 0.18 * s[1] + 0.24 * s[2] + 0.4 * s[3]
    for name, t in teacher.state_dict().items():
        if name.endswith('num_batches_tracked'):
            assert int(t) == 13  # integer buffers are copied
        else:  # parameters and BN running statistics are averaged
            assert torch.allclose(t, torch.full_like(t, expected)), name


def test_plain_average_during_warm_start():
    # alpha = 0.99: for the first updates alpha_i = i / (i + 1), the teacher
    # is the plain mean of all student versions
    student = Net()
    teacher = _teacher_of(student)
    values = [3.0, -1.0, 5.0, 0.5, 2.0]
    for step, v in enumerate(values):
        _fill(student, v)
        ema_update(teacher, student, 0.99, step)
        mean = sum(values[:step + 1]) / (step + 1)
        assert torch.allclose(teacher.fc.weight, torch.full((2, 2), mean))


def test_buffers_copied_when_not_averaged():
    student = Net()
    teacher = _teacher_of(student)
    _fill(student, 1.0)
    ema_update(teacher, student, 0.5, 0)
    _fill(student, 3.0, nbt=7)
    ema_update(teacher, student, 0.5, 5, average_buffers=False)
    assert torch.allclose(teacher.fc.weight, torch.full((2, 2), 2.0))
    assert torch.equal(teacher.bn.running_mean, torch.full((2, ), 3.0))
    assert int(teacher.bn.num_batches_tracked) == 7


def test_no_gradient_reaches_teacher():
    student = Net()
    teacher = _teacher_of(student)
    x = torch.randn(4, 2)
    with torch.no_grad():
        pseudo = teacher(x).argmax(1)
    loss = nn.functional.cross_entropy(student(x), pseudo)
    loss.backward()
    assert all(p.grad is not None for p in student.parameters())
    ema_update(teacher, student, 0.99, 3)
    for p in teacher.parameters():
        assert p.grad is None and not p.requires_grad and p.grad_fn is None


def test_wrapped_student_and_mismatch():
    student = Net()
    teacher = _teacher_of(student)
    _fill(student, 2.0)
    ema_update(teacher, nn.DataParallel(student), 0.99, 0)
    assert torch.equal(teacher.fc.weight, student.fc.weight)
    other = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match='different parameters'):
        ema_update(other, student, 0.99, 0)
    with pytest.raises(ValueError, match='alpha'):
        ema_update(teacher, student, 1.5, 0)


def _random_steps(net, gen):
    """Change every float parameter/buffer of ``net`` in place."""
    with torch.no_grad():
        for t in list(net.parameters()) + [net.bn.running_mean,
                                           net.bn.running_var]:
            t.add_(torch.randn(t.shape, generator=gen))
        net.bn.num_batches_tracked.add_(1)


def test_cached_pairing_update_is_bit_identical():
    from mmda.models.uda import ema as ema_mod
    torch.manual_seed(0)
    student = Net()
    teacher = _teacher_of(student)
    student2, teacher2 = copy.deepcopy(student), copy.deepcopy(teacher)
    g, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    entries = []  # held alive: distinct ids = distinct pairings
    for step in range(8):
        avg = step < 4  # both settings of average_buffers
        _random_steps(student, g)
        _random_steps(student2, g2)
        ema_update(teacher, student, 0.9, step, average_buffers=avg)
        entries.append(ema_mod._PAIRINGS[teacher])
        # the reference pair is paired from scratch at every update
        ema_mod._PAIRINGS.pop(teacher2, None)
        ema_update(teacher2, student2, 0.9, step, average_buffers=avg)
    assert len({id(e) for e in entries}) == 2  # one per setting, reused
    for (n, a), b in zip(teacher.state_dict().items(),
                         teacher2.state_dict().values()):
        assert a.dtype == b.dtype and torch.equal(a, b), n
    assert not torch.equal(teacher.fc.weight, student.fc.weight)


def test_pairing_built_once_and_rebuilt_on_structural_change(monkeypatch):
    from mmda.models.uda import ema as ema_mod
    builds = []
    real = ema_mod._paired

    def counting(*args):
        builds.append(1)
        return real(*args)

    monkeypatch.setattr(ema_mod, '_paired', counting)
    student = Net()
    teacher = _teacher_of(student)
    for step in range(3):
        ema_update(teacher, student, 0.5, step)
    assert len(builds) == 1
    # in-place value changes need no rebuild
    student.load_state_dict(Net().state_dict())
    _fill(student, 2.0)
    ema_update(teacher, student, 0.0, 3)  # alpha 0: teacher = student
    assert len(builds) == 1
    assert torch.equal(teacher.fc.weight, student.fc.weight)

    # a replaced parameter is a structural change: the teacher must follow
    # the new tensor, not the one the old pairing holds
    student.fc.weight = nn.Parameter(torch.full((2, 2), 7.0))
    ema_update(teacher, student, 0.0, 4)
    assert len(builds) == 2
    assert torch.equal(teacher.fc.weight, torch.full((2, 2), 7.0))
    # a buffer replaced behind the module's back (no setattr hook)
    student.bn._buffers['running_mean'] = torch.full((2, ), 5.0)
    ema_update(teacher, student, 0.0, 5)
    assert len(builds) == 3
    assert torch.equal(teacher.bn.running_mean, torch.full((2, ), 5.0))
    # module.to(dtype) replaces buffers: rebuilt; the float64 student is
    # averaged into the float32 teacher
    student.double()
    _fill(student, 3.0)
    ema_update(teacher, student, 0.0, 6)
    assert len(builds) == 4
    assert teacher.fc.weight.dtype == torch.float32
    assert torch.equal(teacher.fc.weight, torch.full((2, 2), 3.0))
    # a dtype change that keeps the tensor object (param.data = ...) keeps
    # the pairing and is converted at the update
    student.float()
    ema_update(teacher, student, 0.0, 7)
    builds.clear()
    student.fc.bias.data = torch.full((2, ), 4.0, dtype=torch.float64)
    ema_update(teacher, student, 0.0, 8)
    assert len(builds) == 0
    assert torch.equal(teacher.fc.bias, torch.full((2, ), 4.0))
    # another student: rebuilt
    other = Net()
    ema_update(teacher, other, 0.5, 9)
    assert len(builds) == 1
    # removed or added parameters/modules are detected and reported
    del other.fc.bias
    with pytest.raises(ValueError, match='different parameters'):
        ema_update(teacher, other, 0.5, 10)
    student.extra = nn.Linear(1, 1)
    with pytest.raises(ValueError, match='different parameters'):
        ema_update(teacher, student, 0.5, 10)


def test_pairing_cache_does_not_keep_the_teacher_alive():
    import gc
    import weakref as wr

    from mmda.models.uda import ema as ema_mod
    student = Net()
    teacher = _teacher_of(student)
    ema_update(teacher, student, 0.5, 0)
    assert teacher in ema_mod._PAIRINGS
    ref = wr.ref(teacher)
    del teacher
    gc.collect()
    assert ref() is None


# ------------------------------------------------------------------- hook
class ToyUDA(BaseModel):
    """Minimal UDA model: student, teacher and the ``ema_step`` buffer."""

    def __init__(self, teacher=True):
        super().__init__()
        torch.manual_seed(0)
        self.student = Net()
        self.teacher = _teacher_of(self.student) if teacher else None
        self.register_buffer('ema_step', torch.zeros((), dtype=torch.long))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.student(inputs)
        if mode == 'loss':
            return dict(loss=(out - 1.0).pow(2).mean())
        return out


class FakeRunner:

    def __init__(self, model):
        self.model = model
        self.iter = 0
        self.message_hub = MessageHub.get_instance('test_ema_hook')


def _step(hook, runner):
    hook.after_train_iter(runner, batch_idx=runner.iter)
    runner.iter += 1


def test_hook_updates_and_counter_survives_state_dict():
    model = ToyUDA()
    hook = HOOKS.build(dict(type='EMATeacherHook', alpha=0.6))
    assert isinstance(hook, EMATeacherHook)
    runner = FakeRunner(model)
    hook.before_train(runner)
    for value in (1.0, 2.0, 4.0):
        _fill(model.student, value)
        _step(hook, runner)
    assert int(model.ema_step) == 3
    assert runner.message_hub.get_scalar('train/ema_alpha').current() == 0.6
    # state dict round trip keeps the counter (and the teacher)
    sd = model.state_dict()
    assert 'ema_step' in sd and sd['ema_step'].dtype == torch.long
    restored = ToyUDA()
    restored.load_state_dict(sd)
    assert int(restored.ema_step) == 3
    # the 4th update uses alpha_3 = 0.6 (not the warm-start alpha_0 = 0)
    _fill(restored.student, 8.0)
    _step(hook, FakeRunner(restored))
    expected = 0.18 * 1 + 0.18 * 2 + 0.24 * 4 + 0.4 * 8
    assert torch.allclose(restored.teacher.fc.weight,
                          torch.full((2, 2), expected))
    assert int(restored.ema_step) == 4


def test_hook_interval_and_wrapper():
    model = ToyUDA()
    hook = EMATeacherHook(alpha=0.99, interval=2)
    runner = FakeRunner(nn.DataParallel(model))  # unwrapped by the hook
    with pytest.raises(AttributeError):
        runner.model.ema_step  # noqa: B018 - DataParallel hides it
    for _ in range(5):
        _step(hook, runner)
    assert int(model.ema_step) == 2  # after iterations 1 and 3


def test_hook_errors():
    with pytest.raises(AttributeError, match='no teacher'):
        EMATeacherHook().before_train(FakeRunner(ToyUDA(teacher=False)))
    model = ToyUDA()
    del model._buffers['ema_step']
    with pytest.raises(AttributeError, match='ema_step'):
        EMATeacherHook().after_train_iter(FakeRunner(model), 0)
    with pytest.raises(ValueError, match='interval'):
        EMATeacherHook(interval=0)


def _runner(work_dir, name, max_iters=4, resume_from=None):
    from mmengine.runner import Runner
    data = [dict(inputs=torch.tensor([float(i), 1.0 - i])) for i in range(8)]
    return Runner(
        model=ToyUDA(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='EMATeacherHook', alpha=0.9)],
        default_scope='mmda',
        load_from=resume_from,
        resume=resume_from is not None,
        randomness=dict(seed=0))


def test_hook_in_runner_resume_is_exact(tmp_path):
    full = _runner(tmp_path / 'full', 'ema_full')
    full.train()
    model = full.model
    assert int(model.ema_step) == 4
    assert not any(p.requires_grad for p in model.teacher.parameters())
    # alphas 0, .5, .67, .75: the teacher is not a copy of the student
    assert not torch.allclose(model.teacher.fc.weight, model.student.fc.weight)
    ckpt = tmp_path / 'full' / 'iter_2.pth'
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert int(saved['state_dict']['ema_step']) == 2
    resumed = _runner(tmp_path / 'resumed', 'ema_resumed',
                      resume_from=str(ckpt))
    resumed.train()
    assert int(resumed.model.ema_step) == 4
    for (n, a), b in zip(model.teacher.state_dict().items(),
                         resumed.model.teacher.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), n
