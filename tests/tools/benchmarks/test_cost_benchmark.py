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
    assert d['ema_share'] == pytest.approx(0.3 / 9.5)
    assert '| dacs |' in cost.table(list(rows.values()))
