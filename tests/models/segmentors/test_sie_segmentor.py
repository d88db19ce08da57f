"""The SIE training step (``mmda/models/segmentors/sie.py``).

The step moved out of ``SelfTrainingLoop._train_step``; the first test
writes that step out as it was (one ``OptimWrapper.backward`` per batch under
a forked RNG seeded by the iteration, then ``step`` and ``zero_grad``) and
asks the segmentor for the same log variables and weights, bit for bit.
"""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from tests.helpers import tiny_segmentor, trainable_state, uda_batch
from mmda.registry import MODELS


def _plain(seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(tiny_segmentor(dropout=0.1))
    model.init_weights()
    model.train()
    return model


def _sie(model, seed):
    """An ``SIE`` training the built ``model`` (its student, as it is)."""
    return MODELS.build(dict(type='SIE', segmentor=model,
                             train_cfg=dict(seed=seed)))


def _batch(seed):
    b = uda_batch(seed)
    return dict(inputs=b['inputs'], data_samples=b['data_samples'])


def _loop_step_as_it_was(model, ow, src, ex, seed, it,
                         excluded=('loss_focal', )):
    """``SelfTrainingLoop._run_iter`` / ``_train_step`` of commit 0d87895."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed((seed * 1000003 + 104729 * (it + 1)) % (2**62))

        def losses(batch):
            with ow.optim_context(model):
                data = model.data_preprocessor(batch, True)
                return model(**data, mode='loss')

        src_l = {k: v for k, v in losses(src).items()
                 if not any(x in k for x in excluded)}
        src_loss, src_vars = model.parse_losses(src_l)
        ow.backward(src_loss)
        total = src_loss.detach()
        log = {f'src.{k}': v.detach() for k, v in src_vars.items()
               if k != 'loss'}
        if ex is not None:
            ex_loss, ex_vars = model.parse_losses(losses(ex))
            ow.backward(ex_loss)
            total = total + ex_loss.detach()
            log.update({f'sie.{k}': v.detach() for k, v in ex_vars.items()
                        if k != 'loss'})
        ow.step()
        ow.zero_grad()
    return dict(loss=total, **log)


@pytest.mark.parametrize('with_examples', [True, False])
def test_sie_step_equals_the_loop_step_it_replaces(with_examples):
    ref = _plain()
    model = copy.deepcopy(ref)
    ow_ref = OptimWrapper(torch.optim.SGD(ref.parameters(), lr=0.05,
                                          momentum=0.9))
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05,
                                      momentum=0.9))
    sie = _sie(model, seed=7)
    for it in range(3):
        src = _batch(2 * it)
        ex = _batch(2 * it + 1) if with_examples else None
        want = _loop_step_as_it_was(ref, ow_ref, src, ex, 7, it)
        sie.uda_iter.fill_(it)
        got = sie.train_step(dict(source=src, examples=ex), ow)
        assert list(got) == list(want)
        for k in want:
            assert torch.equal(got[k], want[k]), (it, k)
    a, b = trainable_state(ref), trainable_state(model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # dropout drew from the step's seeded RNG: another seed differs
    other = copy.deepcopy(model)
    ow2 = OptimWrapper(torch.optim.SGD(other.parameters(), lr=0.05))
    s1 = _sie(other, seed=8)
    out8 = s1.train_step(dict(source=_batch(0), examples=None), ow2)
    s0 = _sie(copy.deepcopy(model), seed=7)
    out7 = s0.train_step(dict(source=_batch(0), examples=None), OptimWrapper(
        torch.optim.SGD(s0.student.parameters(), lr=0.05)))
    assert not torch.equal(out7['loss'], out8['loss'])


def test_a_plain_segmentor_checkpoint_loads_into_the_student(tmp_path):
    """SIE checkpoints of the time the loop wrapped a plain config model,
    and the source-only checkpoints SIE starts from, hold the segmentor's
    own keys: mmengine's checkpoint loading puts them under ``student.``."""
    from mmengine.runner.checkpoint import load_checkpoint

    from mmda.engine.loops.sie_state import check_checkpoint_fits
    plain = _plain(seed=1)
    with torch.no_grad():  # every tensor differs from a fresh model's
        for v in plain.state_dict().values():
            if v.dtype.is_floating_point:
                v.add_(torch.rand_like(v) + 0.5)
    path = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': plain.state_dict(), 'meta': {}}, path)
    torch.manual_seed(2)
    sie = MODELS.build(dict(type='SIE', segmentor=tiny_segmentor()))
    sie.uda_iter.fill_(5)
    check_checkpoint_fits(sie, torch.load(path, weights_only=False), path)
    load_checkpoint(sie, path, strict=True)
    got = sie.student.state_dict()
    assert all(torch.equal(v, got[k]) for k, v in plain.state_dict().items())
    assert int(sie.uda_iter) == 0 and int(sie.ema_step) == 0
    # torch's own loader too; an SIE state dict is left as it is
    sie2 = MODELS.build(dict(type='SIE', segmentor=tiny_segmentor()))
    sie2.load_state_dict(plain.state_dict(), strict=True)
    sie.uda_iter.fill_(3)
    sie2.load_state_dict(sie.state_dict(), strict=True)
    assert int(sie2.uda_iter) == 3
    assert all(torch.equal(v, sie2.state_dict()[k])
               for k, v in sie.state_dict().items())


def test_config_built_sie_trains_the_student():
    torch.manual_seed(0)
    sie = MODELS.build(dict(type='SIE', segmentor=tiny_segmentor(),
                            train_cfg=dict(seed=0)))
    sie.init_weights()
    sie.train()
    ow = OptimWrapper(torch.optim.SGD(sie.parameters(), lr=0.05))
    before = trainable_state(sie)
    out = sie.train_step(dict(source=_batch(0), examples=_batch(1)), ow)
    assert torch.isfinite(out['loss']) and int(sie.uda_iter) == 1
    after = trainable_state(sie)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(TypeError, match='source=batch'):
        sie.train_step(_batch(0), ow)


def test_source_batch_drops_the_excluded_terms():
    seg = tiny_segmentor()
    seg['decode_head']['loss_decode'] = [
        dict(type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_ce'),
        dict(type='SoftmaxFocalLoss', gamma=3.0, loss_weight=0.1,
             loss_name='loss_focal')]
    torch.manual_seed(0)
    sie = MODELS.build(dict(type='SIE', segmentor=seg))
    sie.init_weights()
    ow = OptimWrapper(torch.optim.SGD(sie.parameters(), lr=0.0))
    out = sie.train_step(dict(source=_batch(0), examples=_batch(1)), ow)
    assert 'src.decode.loss_ce' in out and 'sie.decode.loss_focal' in out
    assert not any(k.startswith('src.') and 'focal' in k for k in out)
    assert torch.allclose(out['loss'], out['src.decode.loss_ce'] +
                          out['sie.decode.loss_ce'] +
                          out['sie.decode.loss_focal'])
