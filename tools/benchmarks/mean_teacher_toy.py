#!/usr/bin/env python
"""Mean-teacher domain extension on the embedded toy benchmark (day -> night).

The shape of Table 1 of Scherer et al. (2021): for each seed, the rows

* ``source_only``: labelled day images only (``configs/mean_teacher/
  toy_source_only.py``, batch 8);
* ``translated``: day images + their day->night translations
  (``toy_translated.py``, 4 + 4 per batch), no SSL;
* ``full``: + the masked consistency on night and day images
  (``toy_full.py``);
* optionally ``translated_only`` (``toy_translated_only.py``);

are trained with the same tiny model, optimiser and schedule through
mmengine's ``Runner`` and evaluated by the teacher on both domains in one
``MultiDomainValLoop`` (``day/mIoU`` on toy source val, ``night/mIoU`` on toy
night val). The table reports mean ± std over the seeds and whether the full
method raises night mIoU while keeping day mIoU within 2 points of
source-only.

G_ST is the fixed stand-in ``FixedDay2Night`` of the toy configs (the global
style of the toy night renderer), not a trained CycleGAN; pass
``--cfg-options model.translator=...`` to use a trained toy generator.

Usage::

    python tools/benchmarks/mean_teacher_toy.py [--seeds 3] [--iters N]
        [--rows source_only translated full] [--threads 1]
        [--work-dir work_dirs/bench_mean_teacher_toy] [--out results.json]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import numpy as np
from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    source_only='toy_source_only.py',
    translated_only='toy_translated_only.py',
    translated='toy_translated.py',
    full='toy_full.py')
DEFAULT_ROWS = ('source_only', 'translated', 'full')
LABELS = dict(
    source_only='Baseline - Daytime',
    translated_only='Day2Night',
    translated='Day2Night + Daytime',
    full='SSL + Day2Night + Daytime + Night')


def make_cfg(row: str, seed: int, work_dir: str, iters: Optional[int] = None,
             overrides: Optional[dict] = None, workers: int = 0):
    """The config of one run."""
    from mmengine.config import Config
    if row not in CONFIGS:
        raise ValueError(f'row must be one of {sorted(CONFIGS)}, got {row!r}')
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'mean_teacher', CONFIGS[row]))
    if iters is not None:
        old = cfg.train_cfg.max_iters
        cfg.train_cfg.max_iters = iters
        for s in cfg.param_scheduler:
            if s.get('end', None) is not None:
                s['end'] = iters
        for hook in cfg.custom_hooks:
            for ramp in hook.get('ramps', []):
                # keep the warm-up at the same fraction of training
                if ramp.get('begin'):
                    ramp['begin'] = int(round(ramp['begin'] * iters / old))
    if overrides:
        cfg.merge_from_dict(overrides)
    n = cfg.train_cfg.max_iters
    cfg.work_dir = osp.join(work_dir, f'{row}_seed{seed}')
    cfg.experiment_name = f'mean_teacher_toy_{row}_seed{seed}'
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.val_interval = n + 1  # evaluated explicitly afterwards
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=n, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=max(n // 10, 1), log_metric_by_epoch=False)
    cfg.default_hooks.pop('visualization', None)
    loaders = [cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader]
    loaders += [d['dataloader'] for d in cfg.val_cfg.domains
                if d.get('dataloader')]
    loaders += [d['dataloader'] for d in cfg.test_cfg.domains
                if d.get('dataloader')]
    for dl in loaders:
        dl['num_workers'] = workers
        dl['persistent_workers'] = workers > 0
    return cfg


def run_one(cfg) -> Dict[str, float]:
    """Train, then evaluate both domains; returns day/night mIoU."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    return dict(day=float(metrics['day/mIoU']),
                night=float(metrics['night/mIoU']))


def summarize(results: Dict[str, List[Dict[str, float]]]) -> dict:
    out = {}
    for row, runs in results.items():
        if not runs:
            continue
        out[row] = {}
        for dom in ('day', 'night'):
            vals = [r[dom] for r in runs]
            out[row][dom] = dict(mean=float(np.mean(vals)),
                                 std=float(np.std(vals)), runs=vals)
    if 'source_only' in out and 'full' in out:
        d_day = out['full']['day']['mean'] - out['source_only']['day']['mean']
        d_night = out['full']['night']['mean'] - \
            out['source_only']['night']['mean']
        out['full_vs_source_only'] = dict(
            day=d_day, night=d_night,
            night_raised=d_night > 0, day_within_2=d_day >= -2.0)
    return out


def format_table(summary: dict, seeds: int, iters) -> str:
    lines = [
        f'Toy mean-teacher domain extension, day -> night ({seeds} seed(s), '
        f'{iters} iterations; teacher evaluated; mIoU mean ± std)', '',
        '| row | method - train data | day mIoU | night mIoU |',
        '|---|---|---|---|'
    ]
    for row in CONFIGS:
        if row in summary:
            s = summary[row]
            lines.append(
                f'| {row} | {LABELS[row]} | {s["day"]["mean"]:.2f} ± '
                f'{s["day"]["std"]:.2f} | {s["night"]["mean"]:.2f} ± '
                f'{s["night"]["std"]:.2f} |')
    cmp = summary.get('full_vs_source_only')
    if cmp:
        lines += [
            '', f'full vs source-only: night {cmp["night"]:+.2f}, day '
            f'{cmp["day"]:+.2f} (night raised: {cmp["night_raised"]}, day '
            f'within 2 points: {cmp["day_within_2"]})'
        ]
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--seed-offset', type=int, default=0)
    p.add_argument('--rows', nargs='+', choices=sorted(CONFIGS),
                   default=list(DEFAULT_ROWS))
    p.add_argument('--iters', type=int, default=None,
                   help='override max_iters (poly end and warm-up scaled)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (the machine is shared)')
    p.add_argument('--workers', type=int, default=0,
                   help='dataloader workers')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='key=value overrides (mmengine DictAction)')
    p.add_argument('--work-dir',
                   default=osp.join('work_dirs', 'bench_mean_teacher_toy'))
    p.add_argument('--out', default=None, help='write a JSON summary')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(max(1, args.threads))
    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    overrides = dict(args.cfg_options)
    results: Dict[str, List[Dict[str, float]]] = {r: [] for r in args.rows}
    t0 = time.time()
    iters = None
    for seed in range(args.seed_offset, args.seed_offset + args.seeds):
        for row in args.rows:
            cfg = make_cfg(row, seed, args.work_dir, args.iters, overrides,
                           args.workers)
            iters = cfg.train_cfg.max_iters
            res = run_one(cfg)
            results[row].append(res)
            print(f'[mean_teacher_toy] seed {seed} {row}: day mIoU '
                  f'{res["day"]:.2f}, night mIoU {res["night"]:.2f} '
                  f'({time.time() - t0:.0f} s)', flush=True)
            if args.out:  # partial results survive an interruption
                _write(args.out, summarize(results), args, overrides)
    summary = summarize(results)
    print(format_table(summary, args.seeds, iters))
    if args.out:
        _write(args.out, summary, args, overrides)
    return 0


def _write(path: str, summary: dict, args, overrides: dict) -> None:
    summary = dict(summary)
    summary['config'] = dict(seeds=args.seeds, seed_offset=args.seed_offset,
                             iters=args.iters, rows=args.rows,
                             cfg_options=overrides)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(summary, f, indent=2)


if __name__ == '__main__':
    sys.exit(main())
