"""The interleaving and the summary of tools/benchmarks/cost.py."""
import importlib.util
import os.path as osp
import threading

import pytest

from tests.helpers import ROOT


def _cost():
    spec = importlib.util.spec_from_file_location(
        'cost_bench', osp.join(ROOT, 'tools', 'benchmarks', 'cost.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_baton_interleaves_steps_round_robin():
    cost = _cost()
    names = ['a', 'b', 'c']
    steps = {'a': 3, 'b': 1, 'c': 3}  # b stops early: it is skipped
    baton = cost.Baton(names)
    log = []

    def work(name):
        try:
            baton.wait(name)  # set-up, in order
            for _ in range(steps[name]):
                baton.pass_on(name)
                baton.wait(name)
                log.append(name)  # the "step": only one thread at a time
        finally:
            baton.finish(name)

    threads = [threading.Thread(target=work, args=(n, )) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert log == ['a', 'b', 'c', 'a', 'c', 'a', 'c']


def test_summary_ratios_per_round():
    cost = _cost()
    base = dict(steps=[1.0, 2.0, 1.0], cpu=[1.0, 1.0, 1.0], ema=[0, 0, 0],
                mix=[0, 0, 0], has_ema=False, has_mixer=False, flops=100,
                live_peak_bytes=2**20, rss=[2**21, 2**20], scopes={})
    dacs = dict(steps=[2.0, 5.0, 2.5], cpu=[2.0, 2.4, 2.2], ema=[.1, .1, .1],
                mix=[0, 0, 0], has_ema=True, has_mixer=True, flops=230,
                live_peak_bytes=3 * 2**19, rss=[2**21, 3 * 2**20],
                scopes={'dacs.strong_aug': 0.02})
    rows = {r['method']: r for r in cost.summarise(
        dict(source_only=base, dacs=dacs))}
    d = rows['dacs']
    # per-round ratios 2.0, 2.5, 2.5 (not the ratio of the medians, 2.5/1)
    assert d['time_ratio'] == pytest.approx(2.5)
    assert d['time_ratio_range'] == pytest.approx([2.0, 2.5])
    assert d['cpu_ratio'] == pytest.approx(2.2)
    assert d['flop_ratio'] == pytest.approx(2.3)
    assert d['live_ratio'] == pytest.approx(1.5)
    assert d['ema_share'] == pytest.approx(0.3 / 6.6)  # of the CPU time
    # RSS growth: per-step ratios 1 and 3, median 2; MiB: median of steps
    assert d['rss_ratio'] == pytest.approx(2.0)
    assert d['rss_ratio_range'] == pytest.approx([1.0, 3.0])
    assert d['rss_mb'] == pytest.approx(2.5)
    assert d['cpu_ms'] == pytest.approx(2200)
    assert d['per_round']['cpu_ratio'] == pytest.approx([2.0, 2.4, 2.2])
    assert '| dacs | 2200.0 [2000.0, 2400.0] | 2.20 [2.00, 2.40] |' in (
        cost.table(list(rows.values())))


def test_live_peaks_per_phase():
    cost = _cost()
    # alloc 10 (a), alloc 5 (a), free 10 (b), alloc 20 (b), free 25 (after)
    events = [(1, 10), (2, 5), (4, -10), (5, 20), (8, -25)]
    spans = [('a', 0, 3), ('b', 3, 6)]
    peak, phases = cost.live_peaks(events, spans)
    assert peak == 25
    assert phases == {'a': 15, 'b': 25}


def test_summary_floor_and_component_shares():
    cost = _cost()
    base = dict(steps=[1.0, 1.0], cpu=[1.0, 1.0], ema=[0, 0], mix=[0, 0],
                has_ema=False, has_mixer=False, flops=100,
                live_peak_bytes=4 * 2**20, rss=[2**20],
                floor_live_bytes=6 * 2**20, scopes={})
    dacs = dict(steps=[2.0, 4.0], cpu=[2.0, 2.0], ema=[.02, .02],
                mix=[.02, .02], aug=[.06, .02], has_ema=True, has_mixer=True,
                has_aug=True, flops=230, live_peak_bytes=7 * 2**20,
                rss=[], scopes={},
                phase_peak_bytes={'dacs.mix_loss': 7 * 2**20})
    rows = {r['method']: r for r in cost.summarise(
        dict(source_only=base, dacs=dacs))}
    d = rows['dacs']
    assert d['live_ratio'] == pytest.approx(1.75)
    assert d['live_floor_ratio'] == pytest.approx(1.5)  # DACS only
    assert rows['source_only']['live_floor_ratio'] is None
    assert d['aug_share'] == pytest.approx(0.08 / 4.0)  # of the CPU time
    # per-round shares of EMA + mixing + augmentation: 0.1/2, 0.06/2
    assert d['uda_share'] == pytest.approx(0.04)
    assert d['uda_share_range'] == pytest.approx([0.03, 0.05])
    assert rows['source_only']['uda_share'] is None
    assert d['rss_ratio'] is None and d['rss_mb'] is None  # no RSS steps
    text = cost.table(list(rows.values()))
    assert '| 1.50 |' in text and '4.0% [3.0%, 5.0%] |' in text
    assert 'dacs.mix_loss' in cost.phase_table(list(rows.values()))


def _row(method, cpu, wall=None, live=1.0, rss=1.0, flops=1.0, floor=None):
    return dict(method=method, cpu_ratio=cpu, time_ratio=wall or cpu,
                live_ratio=live, rss_ratio=rss, flop_ratio=flops,
                live_floor_ratio=floor)


def test_agreement_table_spread_floor_and_disagreement():
    cost = _cost()
    assert cost.spread([2.0, 2.2, 2.1]) == pytest.approx(0.1)
    assert cost.spread([2.0, None]) is None
    runs = [[_row('source_only', 1.0), _row('dacs', c, floor=1.39,
                                             flops=2.34, rss=r)]
            for c, r in ((2.30, 1.1), (2.40, 1.5), (2.35, 1.2))]
    r101 = [[_row('source_only', 1.0), _row('dacs', 2.3, flops=2.33)]] * 2
    text, bad = cost.agreement_table(dict(toy=runs, R101=r101))
    lines = text.splitlines()
    assert lines[0].startswith('| method | ratio to source-only | toy run 1 |'
                               ' toy run 2 | toy run 3 | toy spread |')
    assert len(lines) == 2 + 4  # header, rule, 4 ratios of DACS
    cpu = next(x for x in lines if x.startswith('| dacs | CPU time'))
    # toy runs, spread (2.40 - 2.30) / 2.30, FLOP floor; then R101
    assert cpu == ('| dacs | CPU time | 2.30 | 2.40 | 2.35 | 4% | 2.34 '
                   '| 2.30 | 2.30 | 0% | 2.33 |')
    live = next(x for x in lines if x.startswith('| dacs | live memory'))
    assert '| 0% | 1.39 |' in live
    # only the toy RSS ratio (1.1 .. 1.5: 36%) is outside 10%
    assert [(b[0], b[1], b[2]) for b in bad] == [('toy', 'dacs',
                                                   'RSS growth')]
    assert bad[0][3] == pytest.approx(0.4 / 1.1)


def test_agree_reads_json_runs(tmp_path, capsys):
    import json
    cost = _cost()
    files = []
    for i, c in enumerate((2.3, 2.4)):
        fn = tmp_path / f'run{i}.json'
        fn.write_text(json.dumps(dict(args={}, rows=[
            _row('source_only', 1.0), _row('dacs', c)])))
        files.append(str(fn))
    bad = cost.main(['--agree', 'toy=' + ','.join(files)])
    out = capsys.readouterr().out
    assert '| dacs | CPU time | 2.30 | 2.40 | 4% |' in out
    assert 'not within 10%: none' in out and bad == []


@pytest.mark.slow
def test_one_round_run_prints_table_and_json(tmp_path, capsys):
    """The toy benchmark end to end on one round: table rows and the JSON
    of every method, RSS from ``--rss-steps`` steps."""
    import json
    cost = _cost()
    out = tmp_path / 'cost.json'
    rows = cost.main(['--methods', 'dacs', '--iters', '1', '--warmup', '0',
                      '--rss-steps', '2', '--json', str(out)])
    text = capsys.readouterr().out
    assert [r['method'] for r in rows] == ['source_only', 'dacs']
    saved = json.loads(out.read_text())
    assert saved['args']['iters'] == 1 and saved['args']['rss_steps'] == 2
    for r in saved['rows']:
        assert r['rounds'] == 1
        assert len(r['per_round']['cpu_ratio']) == 1
        assert len(r['per_round']['rss_bytes']) == 2
        assert r['live_mb'] > 0 and r['flop_ratio'] > 0
    d = saved['rows'][1]
    assert d['flop_ratio'] > 1 and d['live_floor_ratio'] > 1
    assert 'dacs.mix_backward' in d['phase_peak_mb']
    table_rows = [x for x in text.splitlines() if x.startswith('| dacs |')]
    assert len(table_rows) == 2  # the cost table and the phase table
    assert table_rows[0].count('|') == 15  # 14 columns
