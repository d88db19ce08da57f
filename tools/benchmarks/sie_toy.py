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
  with source batches only (what the rounds would give without examples);
* ``oracle`` (not run by default): ``source_only``'s recipe (same model,
  optimiser, length, batch) trained on the labelled *target* training
  images; the upper bound of the table. The DACS oracle of
  ``dacs_toy.py`` cannot stand in for it: that one is trained with Adam
  over 600 iterations of batch 8 with crops (the toy DACS schedule) and
  averaged over the toy's classes only.

All are evaluated on the target val split (mIoU). The table reports mean and
standard deviation over the seeds; the JSON output also holds the mIoU after
every round.

Usage::

    python tools/benchmarks/sie_toy.py [--seeds 3] [--source-iters N]
        [--work-dir work_dirs/bench_sie_toy] [--out results.json]
        [--reuse-source] [--cfg-options optim_wrapper.optimizer.lr=3e-4]
"""
import argparse
import os.path as osp
import sys
import time
from typing import Dict, List

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.benchmarks import harness  # noqa: E402
CONFIG = osp.join(ROOT, 'configs', 'sie', 'toy_sie.py')
METHODS = ('source_only', 'sie', 'sie_no_focal', 'source_continued',
           'oracle')
DEFAULT_METHODS = METHODS[:4]


def make_cfg(method: str, seed: int, work_dir: str, source_iters: int,
             source_ckpt: str = None, overrides: dict = None,
             continued_iters: int = None, variant: str = 'calibrated',
             knobs: dict = None):
    """The config of one run (see the module docstring); ``knobs``: the
    dataset knobs of a toy variant (``tools/benchmarks/harness.py``)."""
    from mmengine.config import Config
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    cfg = Config.fromfile(CONFIG)
    if overrides:
        cfg.merge_from_dict(overrides)
    harness.apply_variant(cfg, knobs or {})
    tag = f'{method}_seed{seed}' if variant == 'calibrated' else \
        f'{variant}/{method}_seed{seed}'
    cfg.work_dir = osp.join(work_dir, tag)
    cfg.experiment_name = f'sie_toy_{tag.replace("/", "_")}'
    cfg.randomness = dict(seed=seed)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=100, log_metric_by_epoch=False)
    if method == 'oracle':
        cfg.train_dataloader.dataset.domain = 'target'
    if method in ('source_only', 'oracle'):
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
        cfg.model.segmentor.decode_head.loss_decode = [
            l for l in cfg.model.segmentor.decode_head.loss_decode
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
    per_class = harness._capture_per_class(runner)
    # accuracy of each round's pseudo-labels against the target labels
    # (train_cfg.pseudo_label_quality, on in the toy config)
    pl_acc = [(r.get('pseudo_label_quality') or {}).get('acc')
              for r in getattr(runner.train_loop, 'rounds', [])]
    n_rounds = len(rounds)
    metrics = runner.val_loop.run()
    rounds = rounds[:n_rounds]  # without the explicit final validation
    ckpt = osp.join(cfg.work_dir, f'iter_{runner.iter}.pth')
    return dict(miou=float(metrics['mIoU']), per_round=rounds, ckpt=ckpt,
                iters=runner.iter, pseudo_label_acc=pl_acc,
                per_class={k: {c: v for c, v in d.items() if np.isfinite(v)}
                           for k, d in per_class.items()})


def eval_existing(cfg, ckpt: str) -> dict:
    """Evaluate an existing source-only checkpoint (``--reuse-source``)."""
    from mmengine.runner import Runner
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    metrics = runner.val()
    return dict(miou=float(metrics['mIoU']), per_round=[], ckpt=ckpt,
                iters=0)


def summarize_records(records: List[dict]) -> dict:
    """:func:`summarize` input (and the per-round lists) from log records."""
    results: Dict[str, List[float]] = {m: [] for m in METHODS}
    per_round: Dict[str, list] = {m: [] for m in METHODS}
    pl_acc: Dict[str, list] = {m: [] for m in METHODS}
    for r in records:
        results[r['row']].append(r['mIoU'])
        if r['row'] != 'source_only':
            per_round[r['row']].append(r['per_round'])
            if r.get('pseudo_label_acc'):
                pl_acc[r['row']].append(r['pseudo_label_acc'])
    summary = summarize(results)
    summary['per_round'] = per_round
    summary['pseudo_label_acc'] = pl_acc
    return summary


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
                 source_continued='source-only, trained on as long as SIE',
                 oracle='oracle (source-only recipe on target labels)')
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
    harness.add_common_args(p, work_dir=osp.join('work_dirs',
                                                 'bench_sie_toy'))
    p.add_argument('--source-iters', type=int, default=None,
                   help='source-only iterations (default: the config\'s '
                   'train_cfg.source_only_iters)')
    p.add_argument('--methods', nargs='+', choices=METHODS,
                   default=list(DEFAULT_METHODS),
                   help='source_only always runs (the start of the SIE '
                   'runs); oracle only when named')
    p.add_argument('--reuse-source', action='store_true',
                   help='evaluate and reuse existing source-only checkpoints '
                   'of the work dir instead of training them again')
    args = p.parse_args(argv)
    if 'source_continued' in args.methods and 'sie' not in args.methods:
        p.error('--methods source_continued needs sie (it trains as many '
                'iterations as the SIE run)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    harness.setup(args.threads)
    variants = harness.resolve_variants(args.variants)
    overrides = dict(args.cfg_options)
    if args.source_iters is None:
        from mmengine.config import Config
        args.source_iters = int(
            Config.fromfile(CONFIG).train_cfg.source_only_iters)
    log = harness.ResultLog(osp.join(args.work_dir, 'results.jsonl'))
    bench = 'sie_toy'
    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    t0 = time.time()

    def ident(vname, m, seed):
        # a run is identified by the source-only length (the SIE run's own
        # length follows from its rounds)
        return dict(bench=bench, variant=vname, row=m, seed=seed,
                    iters=args.source_iters, cfg_options=overrides)

    def record(vname, knobs, m, seed, out):
        rec = dict(ident(vname, m, seed), knobs=knobs, mIoU=out['miou'],
                   per_round=out['per_round'], ckpt=out['ckpt'],
                   run_iters=out['iters'],
                   pseudo_label_acc=out.get('pseudo_label_acc') or [],
                   per_class=out.get('per_class', {}))
        log.add(rec)
        print(f'[sie_toy] {vname} seed {seed} {m}: mIoU {out["miou"]:.2f}, '
              f'after each round {[round(v, 2) for v in out["per_round"]]}, '
              f'{out["iters"]} iterations ({time.time() - t0:.0f} s)',
              flush=True)
        return rec

    for vname, knobs in variants:
        for seed in seeds:
            src = log.find(**ident(vname, 'source_only', seed))
            if src is None or not osp.isfile(src['ckpt']):
                src_cfg = make_cfg('source_only', seed, args.work_dir,
                                   args.source_iters, overrides=overrides,
                                   variant=vname, knobs=knobs)
                ckpt = osp.join(src_cfg.work_dir,
                                f'iter_{args.source_iters}.pth')
                if args.reuse_source and osp.isfile(ckpt):
                    out = eval_existing(src_cfg, ckpt)
                else:
                    out = run_one(src_cfg)
                src = record(vname, knobs, 'source_only', seed, out)
            sie_iters = None
            for m in ('sie', 'sie_no_focal', 'source_continued'):
                if m not in args.methods:
                    continue
                done = log.find(**ident(vname, m, seed))
                if done is not None:
                    if m == 'sie':
                        sie_iters = done['run_iters']
                    continue
                out = run_one(make_cfg(m, seed, args.work_dir,
                                       args.source_iters, src['ckpt'],
                                       overrides, sie_iters, vname, knobs))
                if m == 'sie':
                    sie_iters = out['iters']
                record(vname, knobs, m, seed, out)
            if 'oracle' in args.methods and \
                    log.find(**ident(vname, 'oracle', seed)) is None:
                record(vname, knobs, 'oracle', seed, run_one(make_cfg(
                    'oracle', seed, args.work_dir, args.source_iters,
                    overrides=overrides, variant=vname, knobs=knobs)))
    rows = ['source_only'] + [m for m in METHODS[1:] if m in args.methods]
    records = log.select(bench=bench, cfg_options=overrides, seed=seeds,
                         row=rows, iters=args.source_iters,
                         variant=[v for v, _ in variants])
    texts, summaries = [], {}
    for vname, _ in variants:
        summary = summarize_records(
            [r for r in records if r['variant'] == vname])
        summaries[vname] = summary
        texts.append(f'Variant {vname}:\n\n' + format_table(
            summary, args.seeds, args.source_iters))
    if len(variants) > 1:
        texts.append('All variants (mean over seeds):\n\n' +
                     harness.markdown_table(
                         harness.summarise(records), rows,
                         [v for v, _ in variants],
                         knobs=dict(variants),
                         gap_of=['sie'] if {'sie', 'oracle'} <=
                         set(args.methods) else []))
    print('\n\n'.join(texts))
    harness.write_json(args.out, dict(summary=summaries,
                                      variants=dict(variants),
                                      config=vars(args)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
