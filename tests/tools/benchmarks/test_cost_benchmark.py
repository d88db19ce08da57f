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
                live_peak_bytes=2**20, rss_growth_bytes=2**21, scopes={})
    dacs = dict(steps=[2.0, 5.0, 2.5], cpu=[2.0, 2.4, 2.2], ema=[.1, .1, .1],
                mix=[0, 0, 0], has_ema=True, has_mixer=True, flops=230,
                live_peak_bytes=3 * 2**19, rss_growth_bytes=2**21,
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
    assert '| dacs |' in cost.table(list(rows.values()))


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
                live_peak_bytes=4 * 2**20, rss_growth_bytes=2**20,
                floor_live_bytes=6 * 2**20, scopes={})
    dacs = dict(steps=[2.0, 4.0], cpu=[2.0, 2.0], ema=[.02, .02],
                mix=[.02, .02], aug=[.06, .02], has_ema=True, has_mixer=True,
                has_aug=True, flops=230, live_peak_bytes=7 * 2**20,
                rss_growth_bytes=2**20, scopes={},
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
    text = cost.table(list(rows.values()))
    assert '| 1.50 |' in text and '4.0% [3.0%, 5.0%] |' in text
    assert 'dacs.mix_loss' in cost.phase_table(list(rows.values()))
