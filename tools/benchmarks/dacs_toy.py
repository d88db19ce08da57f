#!/usr/bin/env python
"""DACS on the embedded toy benchmark: source-only vs DACS vs oracle.

For each seed, three runs with the same tiny model, optimiser, schedule,
batch size and source pipeline (``configs/dacs/toy_dacs.py``):

* ``source_only``: :class:`BaseUDASegmentor` (student trained on the labelled
  source half of the UDA batches only);
* ``dacs``: the config itself (:class:`DACS`);
* ``oracle``: the same model trained on the *target* training labels.

All are evaluated on the target val split; the table reports the mean and
standard deviation of the mIoU over the seeds and the fraction of the
source-only -> oracle gap that DACS closes.

Usage::

    python tools/benchmarks/dacs_toy.py [--seeds 3] [--iters N]
        [--target target|night] [--work-dir work_dirs/bench_dacs_toy]
        [--out results.json]
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List

import numpy as np
from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    target=osp.join(ROOT, 'configs', 'dacs', 'toy_dacs.py'),
    night=osp.join(ROOT, 'configs', 'dacs', 'toy_dacs_night.py'))
METHODS = ('source_only', 'dacs', 'oracle')


def make_cfg(method: str, seed: int, target: str, work_dir: str,
             iters=None, lr=None, batch_size=None, overrides=None):
    """The config of one run (see the module docstring)."""
    from mmengine.config import Config
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    cfg = Config.fromfile(CONFIGS[target])
    if overrides:
        cfg.merge_from_dict(overrides)
    cfg.work_dir = osp.join(work_dir, f'{method}_seed{seed}')
    cfg.experiment_name = f'dacs_toy_{target}_{method}_seed{seed}'
    # several Runners in one process: unique global visualizer instances
    cfg.visualizer.name = cfg.experiment_name
    cfg.randomness = dict(seed=seed)
    if iters is not None:
        cfg.train_cfg.max_iters = iters
        for s in cfg.param_scheduler:
            if s.get('end', None) is not None:
                s['end'] = iters
    n = cfg.train_cfg.max_iters
    cfg.train_cfg.val_interval = n + 1  # evaluated explicitly afterwards
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=n, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=max(n // 10, 1), log_metric_by_epoch=False)
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    if method in ('source_only', 'oracle'):
        segmentor = copy.deepcopy(cfg.model.segmentor)
        cfg.model = dict(type='BaseUDASegmentor', segmentor=segmentor,
                         data_preprocessor=cfg.model.get(
                             'data_preprocessor', None))
        cfg.custom_hooks = []
    if method == 'oracle':
        ds = cfg.train_dataloader.dataset
        tgt = copy.deepcopy(ds.target)
        ds.source = dict(tgt, pipeline=copy.deepcopy(ds.source.pipeline))
    return cfg


def run_one(cfg) -> float:
    """Train, then evaluate on the val split; returns the mIoU."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    return float(metrics['mIoU'])


def summarize(results: Dict[str, List[float]]) -> dict:
    out = {}
    for m, vals in results.items():
        if vals:
            out[m] = dict(mean=float(np.mean(vals)), std=float(np.std(vals)),
                          runs=[float(v) for v in vals])
    if all(m in out for m in METHODS):
        src, dacs, orc = (out[m]['mean'] for m in METHODS)
        out['gap_closed'] = (dacs - src) / (orc - src) if orc != src \
            else float('nan')
    return out


def format_table(summary: dict, target: str, seeds: int) -> str:
    lines = [f'Toy benchmark, source -> {target} (target val mIoU, '
             f'{seeds} seed(s))', '',
             '| method | mIoU (mean ± std) | runs |', '|---|---|---|']
    for m in METHODS:
        if m in summary:
            s = summary[m]
            runs = ', '.join(f'{v:.2f}' for v in s['runs'])
            lines.append(f'| {m} | {s["mean"]:.2f} ± {s["std"]:.2f} | '
                         f'{runs} |')
    if 'gap_closed' in summary:
        lines.append('')
        lines.append('DACS closes {:.0%} of the source-only -> oracle gap.'
                     .format(summary['gap_closed']))
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--seed-offset', type=int, default=0)
    p.add_argument('--target', choices=sorted(CONFIGS), default='target')
    p.add_argument('--methods', nargs='+', choices=METHODS,
                   default=list(METHODS))
    p.add_argument('--iters', type=int, default=None,
                   help='override train_cfg.max_iters (and the poly end)')
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='key=value overrides merged into the config, e.g. '
                   'model.pseudo_label.threshold=0.9 (mmengine DictAction: '
                   'numbers, lists, tuples, True/False/None)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads per run (default 1)')
    p.add_argument('--work-dir', default=osp.join('work_dirs',
                                                  'bench_dacs_toy'))
    p.add_argument('--out', default=None, help='write a JSON summary')
    p.add_argument('--merge', nargs='+', default=None, metavar='JSON',
                   help='only merge the --out files of earlier (e.g. '
                   'parallel, one method/seed each) runs into one table')
    return p.parse_args(argv)


def merge(files: List[str]) -> Dict[str, List[float]]:
    results: Dict[str, List[float]] = {m: [] for m in METHODS}
    for f in files:
        with open(f) as fh:
            summary = json.load(fh)
        for m in METHODS:
            results[m] += summary.get(m, {}).get('runs', [])
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.merge:
        results = merge(args.merge)
        summary = summarize(results)
        n = max(len(v) for v in results.values())
        print(format_table(summary, args.target, n))
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(summary, f, indent=2)
        return 0
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(args.threads)
    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    overrides = dict(args.cfg_options)
    results: Dict[str, List[float]] = {m: [] for m in args.methods}
    t0 = time.time()
    for seed in range(args.seed_offset, args.seed_offset + args.seeds):
        for m in args.methods:
            cfg = make_cfg(m, seed, args.target, args.work_dir, args.iters,
                           args.lr, args.batch_size, overrides)
            miou = run_one(cfg)
            results[m].append(miou)
            print(f'[dacs_toy] seed {seed} {m}: mIoU {miou:.2f} '
                  f'({time.time() - t0:.0f} s)', flush=True)
    summary = summarize(results)
    summary['config'] = dict(target=args.target, seeds=args.seeds,
                             iters=args.iters, lr=args.lr,
                             batch_size=args.batch_size,
                             cfg_options=overrides)
    print(format_table(summary, args.target, args.seeds))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
