"""PseudoLabelDiagnosticHook: per-class teacher confidence and pseudo-label
confusion on labelled target images, without touching training."""
import json
import os.path as osp
import types

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmda.datasets.toy import generate_toy_benchmark
from mmda.engine.hooks.pseudo_label_diagnostic_hook import (
    PseudoLabelDiagnosticHook, confusion_counts, diagnostic_table,
    load_diagnostic, summarise_counts)
from mmda.registry import MODELS
from tests.helpers import ROOT

PIPE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')]


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('diag') / 'toy')
    generate_toy_benchmark(root, num_train=6, num_val=2)
    return root


def _dacs(**kw):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'deeplabv2_tiny.py'))
    model = MODELS.build(dict(type='DACS', segmentor=cfg.model.to_dict(),
                              teacher=True, **kw))
    model.init_weights()
    return model


def _runner(model, work_dir, it=0):
    return types.SimpleNamespace(
        model=model, work_dir=str(work_dir), iter=it, max_iters=100,
        logger=MMLogger.get_instance('diag_test'),
        visualizer=types.SimpleNamespace(add_scalars=lambda *a, **k: None))


def test_confusion_and_summary_by_hand():
    gt = torch.tensor([[0, 0, 0, 1], [1, 1, 255, 2]])
    pred = torch.tensor([[0, 0, 1, 1], [0, 1, 2, 2]])
    cm = confusion_counts(pred, gt, 3)
    assert cm.tolist() == [[2, 1, 0], [1, 2, 0], [0, 0, 1]]
    conf = np.array([1.5, 2.7, 0.9])  # sums over the true-class pixels
    above = np.array([1, 3, 0])
    out = summarise_counts(cm.numpy(), conf, above, ['a', 'b', 'c'])
    assert out['a']['recall'] == pytest.approx(200 / 3)
    assert out['a']['conf'] == pytest.approx(0.5)
    assert out['b']['above'] == pytest.approx(100.0)
    assert out['a']['to'] == {'b': pytest.approx(100 / 3)}
    assert out['a']['precision'] == pytest.approx(200 / 3)
    assert out['c']['share'] == pytest.approx(100 / 7)
    with pytest.raises(ValueError, match='outside'):
        confusion_counts(pred, torch.full_like(gt, 7), 3)


def test_hook_records_per_class_figures_and_leaves_the_model_alone(
        toy_root, tmp_path):
    model = _dacs(pseudo_label=dict(mode='threshold_uniform',
                                    threshold=0.9))
    model.train()
    # a teacher with train-mode BatchNorm (its forward updates the running
    # statistics): the hook must restore them
    for m in model.teacher.modules():
        m.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    torch.manual_seed(3)
    rng_before = torch.get_rng_state()
    hook = PseudoLabelDiagnosticHook(
        dataset=dict(type='ToySegDataset', domain='target', split='train',
                     data_root=toy_root, num_train=6, num_val=2,
                     pipeline=PIPE),
        num_images=4, batch_size=3, interval=2)
    runner = _runner(model, tmp_path)
    hook.before_train(runner)
    runner.iter = 0
    hook.after_train_iter(runner, 0)  # 1 iteration done: not logged
    runner.iter = 1
    hook.after_train_iter(runner, 1)  # 2 iterations done: every 2
    recs = load_diagnostic(osp.join(str(tmp_path),
                                    'pseudo_label_diagnostic.jsonl'))
    assert [r['iter'] for r in recs] == [0, 2]
    rec = recs[0]
    assert rec['threshold'] == 0.9  # read from the model's config
    cm = np.array(rec['confusion'])
    assert cm.sum() == 4 * 64 * 128  # 4 probe images, every pixel labelled
    assert 'road' in rec['per_class'] and 'sky' in rec['per_class']
    road = rec['per_class']['road']
    assert 0 < road['conf'] <= 1 and 0 <= road['recall'] <= 100
    assert road['pixels'] == cm[0].sum()
    assert rec['acc'] == pytest.approx(100 * np.trace(cm) / cm.sum())
    # nothing changed: parameters, buffers (BN statistics), modes, RNG
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert modes == [m.training for m in model.modules()]
    assert torch.equal(rng_before, torch.get_rng_state())
    table = diagnostic_table(recs, 'recall')
    assert table.splitlines()[0] == '| class | it 0 | it 2 |'
    assert any(line.startswith('| road |') for line in table.splitlines())
    # the DACS toy benchmark's report of such a file
    from tools.benchmarks import dacs_toy
    lines = dacs_toy.diagnostic_tables(
        osp.join(str(tmp_path), 'pseudo_label_diagnostic.jsonl'), every=1)
    assert '| class | it 0 | it 2 |' in '\n'.join(lines)
    assert any(line.startswith('- road: right ') for line in lines)


def test_hook_checks_its_inputs(toy_root, tmp_path):
    with pytest.raises(TypeError, match='dataset config'):
        PseudoLabelDiagnosticHook(dataset='x')
    with pytest.raises(ValueError, match='interval'):
        PseudoLabelDiagnosticHook(dataset=dict(type='X'), interval=0)
    hook = PseudoLabelDiagnosticHook(
        dataset=dict(type='ToySegDataset', domain='target', split='train',
                     data_root=toy_root, num_train=6, num_val=2,
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='PackSegInputs')]))
    with pytest.raises(ValueError, match='LoadAnnotations'):
        hook.evaluate(_runner(_dacs(), tmp_path))
    plain = types.SimpleNamespace()
    with pytest.raises(AttributeError, match='teacher_probs'):
        hook.evaluate(_runner(plain, tmp_path))
