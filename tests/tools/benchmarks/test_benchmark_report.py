"""tools/benchmarks/report.py: every section it runs names a benchmark
script that exists and accepts the arguments the report passes (full and
quick), and the markdown-table extraction keeps only real tables."""
import os.path as osp

import pytest
from tests.helpers import BENCH
from tests.helpers import load_benchmark as _load


@pytest.mark.parametrize('quick', [False, True])
def test_every_report_section_parses_its_arguments(tmp_path, quick):
    report = _load('report')
    benches = report.benchmarks(3, quick, str(tmp_path))
    assert {'dacs', 'mean_teacher', 'ass', 'sie', 'cyclegan',
            'cyclegan_seg'} <= set(benches)
    for name, b in benches.items():
        script = b['script']
        assert osp.isfile(osp.join(BENCH, script)), script
        mod = _load(osp.splitext(script)[0])
        try:
            args = mod.parse_args(b['args'])
        except SystemExit as e:  # argparse rejected the report's arguments
            raise AssertionError(f'{name}: {script} {b["args"]}') from e
        if hasattr(args, 'seeds') and name != 'cyclegan':
            assert args.seeds == 3, name
        if getattr(args, 'work_dir', None) is not None:
            assert args.work_dir.startswith(str(tmp_path)), name


def test_markdown_tables_keeps_only_tables_with_a_separator():
    report = _load('report')
    text = '\n'.join([
        'log line', '| a | b |', '|---|---|', '| 1 | 2 |', '',
        '+-----+', '| class | IoU |', '| road | 3 |', 'end',
        '| x |', '|:---:|'])
    assert report.markdown_tables(text) == \
        '| a | b |\n|---|---|\n| 1 | 2 |\n\n| x |\n|:---:|'


# ---------------------------------------------------------------------------
# tools/benchmarks/harness.py: the shared machinery of the toy benchmarks
# ---------------------------------------------------------------------------
def test_harness_imports_as_a_module():
    from tools.benchmarks import harness
    assert harness.ROOT == osp.dirname(osp.dirname(BENCH))


def test_variants_and_sweeps():
    from tools.benchmarks import harness
    day = harness.resolve_variants(['day-sweep'])
    assert len(day) == 6
    strengths = sorted({k['shift_strength'] for _, k in day})
    assert strengths == [0.4, 0.5, 0.6]
    pairs = {(k['seed'], k['shift_seed']) for _, k in day}
    assert len(pairs) == 2 and (0, 1234) not in pairs  # held-out renderings
    night = harness.resolve_variants(['night-sweep'])
    assert len(night) == 6
    assert sorted({k['night_darkness'] for _, k in night}) == [0.85, 0.9, 0.95]
    assert harness.resolve_variants(None) == [('calibrated', {})]
    # duplicates collapse; inline variants parse
    got = harness.resolve_variants(['shift0.6-a', 'day-sweep',
                                    'mine:seed=3,night_tint=1/1/1.2'])
    assert got[0][0] == 'shift0.6-a' and len(got) == 7
    assert got[-1] == ('mine', dict(seed=3, night_tint=(1.0, 1.0, 1.2)))
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        harness.resolve_variants(['nope'])
    with pytest.raises(ValueError, match="unknown knob 'shift'"):
        harness.resolve_variants(['x:shift=0.3'])
    with pytest.raises(ValueError, match='expected key=value'):
        harness.resolve_variants(['x:seed'])


def test_apply_variant_reaches_every_toy_dataset(tmp_path):
    from tools.benchmarks import harness
    dacs = _load('dacs_toy')
    knobs = dict(harness.VARIANTS['shift0.6-b'])
    cfg = dacs.make_cfg('oracle', 1, 'target', str(tmp_path), iters=7,
                        variant='shift0.6-b', knobs=knobs)
    found = list(harness._toy_datasets(cfg._cfg_dict))
    # train source (= target for the oracle), train target, val, test
    assert len(found) >= 4
    for ds in found:
        assert ds['shift_strength'] == 0.6 and ds['seed'] == 2 and \
            ds['shift_seed'] == 2
    assert cfg.work_dir == osp.join(str(tmp_path), 'shift0.6-b',
                                    'oracle_seed1')
    assert cfg.train_cfg.max_iters == 7 and cfg.train_cfg.val_interval == 8
    assert cfg.param_scheduler[0]['end'] == 7
    assert cfg.randomness == dict(seed=1)
    assert cfg.train_dataloader.num_workers == 0
    # the calibrated toy leaves the datasets alone
    plain = dacs.make_cfg('dacs', 0, 'target', str(tmp_path))
    assert all('shift_strength' not in d
               for d in harness._toy_datasets(plain._cfg_dict))
    assert plain.work_dir == osp.join(str(tmp_path), 'dacs_seed0')
    with pytest.raises(ValueError, match='no ToySegDataset'):
        harness.apply_variant(dict(train_dataloader=dict(dataset=dict(
            type='CityscapesDataset'))), dict(seed=1))
    with pytest.raises(ValueError, match='explicit data_root'):
        harness.apply_variant(dict(a=dict(type='ToySegDataset',
                                          data_root='/x')), dict(seed=1))


def test_every_toy_benchmark_applies_variants(tmp_path):
    from tools.benchmarks import harness
    knobs = dict(harness.VARIANTS['dark0.85-b'])
    mt = _load('mean_teacher_toy')
    cfg = mt.make_cfg('full', 0, str(tmp_path), 9, variant='v', knobs=knobs)
    ds = list(harness._toy_datasets(cfg._cfg_dict))
    assert len(ds) >= 4 and all(d['night_darkness'] == 0.85 and
                                d['night_tint'] == [0.9, 0.9, 1.1]
                                for d in ds)
    assert all(d['dataloader']['num_workers'] == 0
               for d in cfg.val_cfg.domains if d.get('dataloader'))
    sie = _load('sie_toy')
    cfg = sie.make_cfg('source_only', 0, str(tmp_path), 5, variant='v',
                       knobs=knobs)
    assert all(d['night_darkness'] == 0.85
               for d in harness._toy_datasets(cfg._cfg_dict))
    ass = _load('ass_toy')
    cfg = ass.make_cfg('GA+CSA', 3, 0, str(tmp_path), 5, variant='v',
                       knobs=knobs)
    assert len(list(harness._toy_datasets(cfg._cfg_dict))) >= 3
    cg = _load('cyclegan_seg_toy')
    cfg = cg.gan_cfg('cyclegan', str(tmp_path), 5, 0, knobs=knobs)
    assert all(d['night_darkness'] == 0.85
               for d in harness._toy_datasets(cfg._cfg_dict))
    for name in ('dacs_toy', 'mean_teacher_toy', 'sie_toy', 'ass_toy',
                 'cyclegan_seg_toy'):
        args = _load(name).parse_args(['--variants', 'night-sweep',
                                       'calibrated'])
        assert args.variants == ['night-sweep', 'calibrated'], name


def test_result_log_resumes_and_keys_by_options(tmp_path):
    from tools.benchmarks import harness
    path = str(tmp_path / 'r' / 'results.jsonl')
    log = harness.ResultLog(path)
    calls = []

    def run(row, vname, knobs, seed):
        calls.append((row, vname, seed))
        return {'mIoU': 10.0 * (seed + 1) + len(row)}

    variants = harness.resolve_variants(['calibrated', 'shift0.4-a'])
    harness.run_grid(log, 'b', variants, [0, 1], ['x', 'yy'], run,
                     lambda r: 5, {}, say=lambda s: None)
    assert len(calls) == 8
    # a new process: nothing is run again; other options are other runs
    log2 = harness.ResultLog(path)
    harness.run_grid(log2, 'b', variants, [0, 1], ['x', 'yy'], run,
                     lambda r: 5, {}, say=lambda s: None)
    assert len(calls) == 8
    harness.run_grid(log2, 'b', variants[:1], [0], ['x'], run,
                     lambda r: 5, {'a.b': 1}, say=lambda s: None)
    harness.run_grid(log2, 'b', variants[:1], [0], ['x'], run,
                     lambda r: 6, {}, say=lambda s: None)
    assert len(calls) == 10
    recs = harness.ResultLog(path).select(bench='b', cfg_options={},
                                          iters=5)
    assert len(recs) == 8
    assert recs[-1]['knobs'] == harness.VARIANTS['shift0.4-a']
    summary = harness.summarise(recs)
    assert summary['calibrated']['x']['runs'] == [11.0, 21.0]
    with open(path, 'a') as f:
        f.write('{broken\n')
    with pytest.raises(ValueError, match='line 11'):
        harness.ResultLog(path)


def test_tables_gap_and_collapse():
    from tools.benchmarks import harness
    recs = []
    for seed, (so, da, orc) in enumerate([(30, 40, 60), (32, 44, 62)]):
        for row, v, pc in (('source_only', so, {'road': 20.0, 'sky': 80.0}),
                           ('dacs', da, {'road': 3.0, 'sky': 90.0}),
                           ('oracle', orc, {'road': 70.0, 'sky': 95.0})):
            recs.append(dict(variant='v', row=row, seed=seed, mIoU=v,
                             per_class={'': pc}))
    summary = harness.summarise(recs)
    assert summary['v']['dacs']['mean'] == 42.0
    assert harness.gap_closed(summary['v'], 'dacs') == pytest.approx(11 / 30)
    table = harness.markdown_table(summary, ['source_only', 'dacs',
                                             'oracle'], ['v', 'w'],
                                   gap_of=['dacs'])
    lines = table.splitlines()
    assert lines[2] == ('| v | 31.0 ± 1.0 (n=2) | 42.0 ± 2.0 (n=2) | '
                        '61.0 ± 1.0 (n=2) | 37% |')
    assert lines[3] == '| w | - | - | - | - |'
    means = harness.per_class_means(recs)
    assert means['v']['dacs'] == {'road': 3.0, 'sky': 90.0}
    assert harness.collapsed_classes(means['v'], 'dacs') == ['road']
    assert harness.collapsed_classes(means['v'], 'oracle') == []
    pc = harness.per_class_table(means['v'], ['source_only', 'dacs'])
    assert pc.splitlines()[0] == '| row | road | sky |'
    assert pc.splitlines()[3] == '| dacs | 3.0 | 90.0 |'
    dacs = _load('dacs_toy')
    text = dacs.report(recs, [('v', {})], list(dacs.METHODS), 'target')
    assert 'DACS drives below 5: road' in text


def test_dacs_rows_thesis_weight_and_distribution_alignment(tmp_path):
    dacs = _load('dacs_toy')
    tau = dacs.make_cfg('dacs_tau', 0, 'target', str(tmp_path), iters=5)
    assert tau.model.pseudo_label.mode == 'threshold_uniform'
    assert tau.model.pseudo_label.threshold == 0.968
    with pytest.raises(ValueError, match='no config for target'):
        dacs.make_cfg('dacs_tau', 0, 'night', str(tmp_path))
    da = dacs.make_cfg('dacs_da', 0, 'target', str(tmp_path), iters=5,
                       diagnose=True)
    dist = da.model.dist_align.target_dist
    assert len(dist) == 19 and sum(dist) == pytest.approx(1, abs=1e-3)
    from mmda.datasets.toy import TOY_CLASSES
    assert all((v > 0) == (i in TOY_CLASSES) for i, v in enumerate(dist))
    assert dist[0] > 0.1  # road is a large class of the toy
    assert da.model.pseudo_label.mode == 'none'  # otherwise the toy's DACS
    hooks = [h['type'] for h in da.custom_hooks]
    assert 'PseudoLabelDiagnosticHook' in hooks and 'EMATeacherHook' in hooks


def test_oracle_rows_train_on_the_evaluated_domain(tmp_path):
    """The oracle rows of the mean-teacher and SIE toy benchmarks: the
    baseline's recipe, trained on the labelled images of the domain the
    table evaluates (night / target), with the variant's knobs."""
    from tools.benchmarks import harness
    mt = _load('mean_teacher_toy')
    knobs = dict(harness.VARIANTS['dark0.95-a'])
    base = mt.make_cfg('source_only', 0, str(tmp_path), 9)
    orc = mt.make_cfg('oracle', 0, str(tmp_path), 9, variant='dark0.95-a',
                      knobs=knobs)
    assert base.train_dataloader.dataset.domain == 'source'
    assert orc.train_dataloader.dataset.domain == 'night'
    assert orc.train_dataloader.dataset.night_darkness == 0.95
    # otherwise the baseline: no translation, no consistency, same schedule
    for key in ('sup_translated', 'night_consistency', 'day_consistency',
                'eval_model'):
        assert orc.model[key] == base.model[key], key
    assert orc.train_dataloader.batch_size == base.train_dataloader.batch_size
    assert orc.optim_wrapper == base.optim_wrapper
    assert [d['prefix'] for d in orc.val_cfg.domains] == ['day', 'night']
    assert mt.parse_args(['--rows', 'oracle']).rows == ['oracle']
    sie = _load('sie_toy')
    knobs = dict(harness.VARIANTS['shift0.6-b'])
    so = sie.make_cfg('source_only', 0, str(tmp_path), 5, variant='v',
                      knobs=knobs)
    orc = sie.make_cfg('oracle', 0, str(tmp_path), 5, variant='v',
                       knobs=knobs)
    assert so.train_dataloader.dataset.domain == 'source'
    assert orc.train_dataloader.dataset.domain == 'target'
    assert orc.train_dataloader.dataset.shift_strength == 0.6
    assert orc.train_cfg.source_only_iters == 5 and \
        orc.train_cfg.max_rounds == 0
    assert orc.optim_wrapper == so.optim_wrapper
    assert orc.val_dataloader.dataset.domain == 'target'
    assert orc.work_dir == osp.join(str(tmp_path), 'v', 'oracle_seed0')
    assert 'oracle' not in sie.parse_args([]).methods
    assert 'oracle' in sie.parse_args(['--methods', 'sie', 'oracle']).methods
