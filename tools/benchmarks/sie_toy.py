#!/usr/bin/env python
"""Scale-invariant examples on the toy benchmark: source-only vs SIE.

For each seed (``configs/sie/toy_sie.py``):

* ``source_only``: the tiny DeepLab trained on the labelled source for
  ``train_cfg.source_only_iters`` iterations (the warm-up of the config, no
  round); its checkpoint is the start of the two SIE runs;
* ``sie``: self-training rounds from that checkpoint, CE + 0.1 focal
  (gamma 3) on the scale-invariant examples, CE on the source;
* ``sie_no_focal``: the same with CE only on the examples;
* ``source_continued``: the control - the source-only checkpoint trained on
  for as many iterations as the SIE run took, at the rounds' learning rate,
  with source batches only (what the rounds would give without examples).

All are evaluated on the target val split (mIoU). The table reports mean and
standard deviation over the seeds; the JSON output also holds the mIoU after
every round.

Usage::

    python tools/benchmarks/sie_toy.py [--seeds 3] [--source-iters N]
        [--work-dir work_dirs/bench_sie_toy] [--out results.json]
        [--reuse-source] [--cfg-options optim_wrapper.optimizer.lr=3e-4]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List

import numpy as np
from mmengine.config import DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'sie', 'toy_sie.py')
METHODS = ('source_only', 'sie', 'sie_no_focal', 'source_continued')


def make_cfg(method: str, seed: int, work_dir: str, source_iters: int,
             source_ckpt: str = None, overrides: dict = None,
             continued_iters: int = None):
    """The config of one run (see the module docstring)."""
    from mmengine.config import Config
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    cfg = Config.fromfile(CONFIG)
    if overrides:
        cfg.merge_from_dict(overrides)
    cfg.work_dir = osp.join(work_dir, f'{method}_seed{seed}')
    cfg.experiment_name = f'sie_toy_{method}_seed{seed}'
    cfg.randomness = dict(seed=seed)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=100, log_metric_by_epoch=False)
    if method == 'source_only':
        cfg.train_cfg.source_only_iters = source_iters
        cfg.train_cfg.max_rounds = 0
        cfg.train_cfg.val_after_warmup = False  # evaluated explicitly
        return cfg
    if source_ckpt is None:
        raise ValueError(f'{method} needs the source-only checkpoint')
    cfg.load_from = source_ckpt
    cfg.train_cfg.source_only_iters = 0
    if method == 'source_continued':
        if not continued_iters:
            raise ValueError('source_continued needs the iteration count of '
                             'the SIE run')
        cfg.train_cfg.source_only_iters = continued_iters
        cfg.train_cfg.source_only_lr_mult = 1.0  # the rounds' rate
        cfg.train_cfg.max_rounds = 0
        cfg.train_cfg.val_after_warmup = False
    if method == 'sie_no_focal':
        cfg.model.decode_head.loss_decode = [
            l for l in cfg.model.decode_head.loss_decode
            if l['type'] != 'SoftmaxFocalLoss'
        ]
    return cfg


def run_one(cfg) -> dict:
    """Train, evaluate on the val split; final and per-round mIoU."""
    from mmengine.runner import Runner
    from mmengine.hooks import Hook

    rounds = []  # the validations the loop runs after each round

    class _Record(Hook):

        def after_val_epoch(self, runner, metrics=None):
            if metrics and 'mIoU' in metrics:
                rounds.append(float(metrics['mIoU']))

    runner = Runner.from_cfg(cfg)
    runner.register_hook(_Record(), priority='LOWEST')
    runner.train()
    # accuracy of each round's pseudo-labels against the target labels
    # (train_cfg.pseudo_label_quality, on in the toy config)
    pl_acc = [(r.get('pseudo_label_quality') or {}).get('acc')
              for r in getattr(runner.train_loop, 'rounds', [])]
    n_rounds = len(rounds)
    metrics = runner.val_loop.run()
    rounds = rounds[:n_rounds]  # without the explicit final validation
    ckpt = osp.join(cfg.work_dir, f'iter_{runner.iter}.pth')
    return dict(miou=float(metrics['mIoU']), per_round=rounds, ckpt=ckpt,
                iters=runner.iter, pseudo_label_acc=pl_acc)


def eval_existing(cfg, ckpt: str) -> dict:
    """Evaluate an existing source-only checkpoint (``--reuse-source``)."""
    from mmengine.runner import Runner
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    metrics = runner.val()
    return dict(miou=float(metrics['mIoU']), per_round=[], ckpt=ckpt,
                iters=0)


def summarize(results: Dict[str, List[float]]) -> dict:
    out = {}
    for m, vals in results.items():
        if vals:
            out[m] = dict(mean=float(np.mean(vals)), std=float(np.std(vals)),
                          runs=[float(v) for v in vals])
    return out


def _round_table(title: str, rows: Dict[str, list], names: dict,
                 fmt: str) -> List[str]:
    """Per-round means (over seeds) of ``rows[method] = [[r0, r1, ...]]``."""
    if not rows:
        return []
    n = min(len(r) for v in rows.values() for r in v)
    lines = ['', title, '',
             '| method | ' + ' | '.join(f'r{i}' for i in range(n)) + ' |',
             '|---|' + '---|' * n]
    for m, v in rows.items():
        means = np.mean([r[:n] for r in v], axis=0)
        lines.append(f'| {names[m]} | ' +
                     ' | '.join(format(x, fmt) for x in means) + ' |')
    return lines


def format_table(summary: dict, seeds: int, source_iters: int) -> str:
    lines = [f'Toy benchmark, source -> target, SIE (target val mIoU, '
             f'{seeds} seed(s), source-only warm start {source_iters} it)', '',
             '| method | mIoU (mean ± std) | runs |', '|---|---|---|']
    names = dict(source_only='source-only', sie='SIE (CE + 0.1 focal)',
                 sie_no_focal='SIE without focal (CE)',
                 source_continued='source-only, trained on as long as SIE')
    for m in METHODS:
        if m in summary:
            s = summary[m]
            runs = ', '.join(f'{v:.2f}' for v in s['runs'])
            lines.append(f'| {names[m]} | {s["mean"]:.2f} ± {s["std"]:.2f} | '
                         f'{runs} |')
    per_round = {m: v for m, v in summary.get('per_round', {}).items()
                 if v and all(v)}
    lines += _round_table('Mean target val mIoU after each round:',
                          per_round, names, '.2f')
    acc = {m: v for m, v in summary.get('pseudo_label_acc', {}).items()
           if v and all(v) and all(x is not None for r in v for x in r)}
    lines += _round_table(
        'Mean pixel accuracy (%) of each round\'s pseudo-labels (kept pixels '
        'of the selected target images vs their labels):', acc, names, '.1f')
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--seed-offset', type=int, default=0)
    p.add_argument('--source-iters', type=int, default=None,
                   help='source-only iterations (default: the config\'s '
                   'train_cfg.source_only_iters)')
    p.add_argument('--methods', nargs='+', choices=METHODS,
                   default=list(METHODS))
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='key=value overrides merged into the SIE config, '
                   'e.g. train_cfg.max_rounds=3 (mmengine DictAction)')
    p.add_argument('--reuse-source', action='store_true',
                   help='evaluate and reuse existing source-only checkpoints '
                   'of the work dir instead of training them again')
    p.add_argument('--work-dir',
                   default=osp.join('work_dirs', 'bench_sie_toy'))
    p.add_argument('--out', default=None, help='write a JSON summary')
    args = p.parse_args(argv)
    if 'source_continued' in args.methods and 'sie' not in args.methods:
        p.error('--methods source_continued needs sie (it trains as many '
                'iterations as the SIE run)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    overrides = dict(args.cfg_options)
    if args.source_iters is None:
        from mmengine.config import Config
        args.source_iters = int(
            Config.fromfile(CONFIG).train_cfg.source_only_iters)
    results: Dict[str, List[float]] = {m: [] for m in METHODS}
    per_round: Dict[str, list] = {m: [] for m in METHODS}
    pl_acc: Dict[str, list] = {m: [] for m in METHODS}
    t0 = time.time()
    for seed in range(args.seed_offset, args.seed_offset + args.seeds):
        src_cfg = make_cfg('source_only', seed, args.work_dir,
                           args.source_iters, overrides=overrides)
        ckpt = osp.join(src_cfg.work_dir, f'iter_{args.source_iters}.pth')
        if args.reuse_source and osp.isfile(ckpt):
            src = eval_existing(src_cfg, ckpt)
        else:
            src = run_one(src_cfg)
        results['source_only'].append(src['miou'])
        print(f'[sie_toy] seed {seed} source_only: mIoU {src["miou"]:.2f} '
              f'({time.time() - t0:.0f} s)', flush=True)
        sie_iters = None
        for m in ('sie', 'sie_no_focal', 'source_continued'):
            if m not in args.methods:
                continue
            out = run_one(make_cfg(m, seed, args.work_dir, args.source_iters,
                                   src['ckpt'], overrides, sie_iters))
            if m == 'sie':
                sie_iters = out['iters']
            results[m].append(out['miou'])
            per_round[m].append(out['per_round'])
            if out['pseudo_label_acc']:
                pl_acc[m].append(out['pseudo_label_acc'])
            print(f'[sie_toy] seed {seed} {m}: mIoU {out["miou"]:.2f}, after '
                  f'each round {[round(v, 2) for v in out["per_round"]]}, '
                  f'{out["iters"]} iterations ({time.time() - t0:.0f} s)',
                  flush=True)
    results = {m: v for m, v in results.items() if m in args.methods or
               m == 'source_only'}
    summary = summarize(results)
    summary['per_round'] = per_round
    summary['pseudo_label_acc'] = pl_acc
    summary['config'] = dict(seeds=args.seeds, source_iters=args.source_iters,
                             cfg_options=overrides)
    print(format_table(summary, args.seeds, args.source_iters))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
