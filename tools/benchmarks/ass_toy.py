#!/usr/bin/env python
"""ASS on the embedded toy benchmark: a table in the shape of Table 1.

For each number of labelled target images and each seed, four runs share
the tiny model, the segmentor optimiser, the schedule and -- within a seed --
the *same* labelled target images (``split_seed = seed``):

* ``oracle``: trained on the labelled target images only
  (``configs/ass/toy_oracle.py``);
* ``GA``: source + T_L segmentation, output-space adaptation with T_U
  (``configs/ass/toy_ga.py``);
* ``GA+FCSA`` / ``GA+CSA``: plus the semantic-level discriminator
  (``configs/ass/toy_ga_fcsa.py``, ``configs/ass/toy_ga_csa.py``).

All are evaluated on the toy target val split (mIoU over the classes that
occur). The table reports mean ± std over the seeds and "Improve" = GA+CSA
minus oracle, as in the paper. Results are appended to
``{work_dir}/results.jsonl`` as they come, and runs already there are
skipped, so an interrupted benchmark can be continued.

Usage::

    python tools/benchmarks/ass_toy.py [--counts 3 10 25] [--seeds 3]
        [--iters N] [--methods oracle GA GA+FCSA GA+CSA]
        [--work-dir work_dirs/bench_ass_toy] [--out summary.json]
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
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.benchmarks import harness  # noqa: E402
CONFIGS = {
    'oracle': osp.join(ROOT, 'configs', 'ass', 'toy_oracle.py'),
    'GA': osp.join(ROOT, 'configs', 'ass', 'toy_ga.py'),
    'GA+FCSA': osp.join(ROOT, 'configs', 'ass', 'toy_ga_fcsa.py'),
    'GA+CSA': osp.join(ROOT, 'configs', 'ass', 'toy_ga_csa.py'),
}
METHODS = tuple(CONFIGS)


def _count(value: str):
    return value if value == 'all' else int(value)


def make_cfg(method: str, num_labeled, seed: int, work_dir: str,
             iters: Optional[int] = None, overrides: Optional[dict] = None,
             variant: str = 'calibrated', knobs: Optional[dict] = None):
    """The config of one run (see the module docstring); ``knobs``: the
    dataset knobs of a toy variant (``tools/benchmarks/harness.py``)."""
    from mmengine.config import Config
    if method not in CONFIGS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    cfg = Config.fromfile(CONFIGS[method])
    if overrides:
        cfg.merge_from_dict(overrides)
    harness.apply_variant(cfg, knobs or {})
    tag = f'{method.replace("+", "_")}_n{num_labeled}_seed{seed}'
    if variant != 'calibrated':
        tag = f'{variant}/{tag}'
    cfg.work_dir = osp.join(work_dir, tag)
    cfg.experiment_name = f'ass_toy_{tag.replace("/", "_")}'
    cfg.randomness = dict(seed=seed)
    ds = cfg.train_dataloader.dataset
    ds.num_labeled = num_labeled
    ds.split_seed = seed  # the same T_L for every method of this seed
    if iters is not None:
        cfg.train_cfg.max_iters = iters
        scheds = cfg.param_scheduler
        groups = scheds.values() if isinstance(scheds, dict) else [scheds]
        for group in groups:
            for s in group:
                if s.get('end', None) is not None:
                    s['end'] = iters
    n = cfg.train_cfg.max_iters
    cfg.train_cfg.val_interval = n + 1  # evaluated explicitly afterwards
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=n, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=max(n // 5, 1), log_metric_by_epoch=False)
    cfg.log_level = 'WARNING'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    return cfg


def run_one(cfg) -> float:
    """Train, then evaluate on the val split; returns the mIoU."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    return float(metrics['mIoU'])


def load_results(path: str) -> List[dict]:
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize(records: List[dict]) -> Dict[str, Dict[str, dict]]:
    """{count: {method: dict(mean, std, runs)}} of the recorded runs."""
    table: Dict[str, Dict[str, List[float]]] = {}
    for r in records:
        table.setdefault(str(r['num_labeled']), {}).setdefault(
            r['method'], []).append(r['miou'])
    out: Dict[str, Dict[str, dict]] = {}
    for count, methods in table.items():
        out[count] = {
            m: dict(mean=float(np.mean(v)), std=float(np.std(v)),
                    runs=[float(x) for x in v])
            for m, v in methods.items()}
    return out


def format_table(summary: dict, counts: List, methods: List[str],
                 iters, seeds: int) -> str:
    lines = [
        'ASS on the toy benchmark (source -> target, target val mIoU, mean '
        f'± std over {seeds} seed(s), {iters} iterations)', '',
        '| # labelled target | ' + ' | '.join(methods) +
        (' | Improve (GA+CSA − oracle) |'
         if {'oracle', 'GA+CSA'} <= set(methods) else ' |'),
        '|---' * (len(methods) + 1 +
                  ({'oracle', 'GA+CSA'} <= set(methods))) + '|'
    ]
    for c in counts:
        row = summary.get(str(c), {})
        cells = []
        for m in methods:
            s = row.get(m)
            cells.append('-' if s is None else
                         f'{s["mean"]:.1f} ± {s["std"]:.1f}')
        line = f'| {c} | ' + ' | '.join(cells) + ' |'
        if {'oracle', 'GA+CSA'} <= set(methods):
            if 'oracle' in row and 'GA+CSA' in row:
                diff = row['GA+CSA']['mean'] - row['oracle']['mean']
                line += f' {diff:+.1f} |'
            else:
                line += ' - |'
        lines.append(line)
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--counts', nargs='+', type=_count, default=[3, 10, 25],
                   help="numbers of labelled target images ('all' allowed)")
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--seed-offset', type=int, default=0)
    p.add_argument('--methods', nargs='+', choices=METHODS,
                   default=list(METHODS))
    p.add_argument('--iters', type=int, default=None,
                   help='override train_cfg.max_iters (and the poly ends)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='key=value overrides merged into every config '
                   '(mmengine DictAction); runs are recorded and reused per '
                   'set of overrides')
    p.add_argument('--threads', type=int, default=1,
                   help='torch intra-op threads (1 is fastest for the tiny '
                   'model on a shared CPU)')
    p.add_argument('--variants', nargs='+', default=None, metavar='VARIANT',
                   help='toy variants (see tools/benchmarks/harness.py: '
                   'names, day-sweep, or name:key=value,...); default: the '
                   'calibrated toy')
    p.add_argument('--work-dir', default=osp.join('work_dirs',
                                                  'bench_ass_toy'))
    p.add_argument('--out', default=None, help='write a JSON summary')
    return p.parse_args(argv)


def _options_key(options: dict) -> str:
    return json.dumps(options, sort_keys=True, default=str)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import torch
    torch.set_num_threads(args.threads)
    variants = harness.resolve_variants(args.variants)
    overrides = dict(args.cfg_options)
    os.makedirs(args.work_dir, exist_ok=True)
    log = osp.join(args.work_dir, 'results.jsonl')
    records = load_results(log)
    # a run is identified by variant, count, method, seed, length and
    # overrides (records from before the variants are the calibrated toy)
    records = [r for r in records
               if _options_key(r.get('cfg_options', {})) ==
               _options_key(overrides)]
    for r in records:
        r.setdefault('variant', 'calibrated')
    done = {(r['variant'], str(r['num_labeled']), r['method'], r['seed'],
             r['iters']) for r in records}
    seeds = range(args.seed_offset, args.seed_offset + args.seeds)
    t0 = time.time()
    for vname, knobs in variants:
        for seed in seeds:
            for count in args.counts:
                for m in args.methods:
                    cfg = make_cfg(m, count, seed, args.work_dir, args.iters,
                                   overrides, vname, knobs)
                    iters = int(cfg.train_cfg.max_iters)
                    if (vname, str(count), m, seed, iters) in done:
                        continue
                    miou = run_one(cfg)
                    rec = dict(num_labeled=count, method=m, seed=seed,
                               iters=iters, miou=miou, cfg_options=overrides)
                    if vname != 'calibrated':
                        rec.update(variant=vname, knobs=knobs)
                    records.append(dict(rec, variant=vname))
                    with open(log, 'a') as f:
                        f.write(json.dumps(rec) + '\n')
                    print(f'[ass_toy] {vname} seed {seed} n={count} {m}: '
                          f'mIoU {miou:.2f} ({time.time() - t0:.0f} s)',
                          flush=True)
    iters = args.iters if args.iters is not None else \
        int(make_cfg('GA', args.counts[0], 0, args.work_dir).train_cfg
            .max_iters)
    summaries, texts = {}, []
    for vname, _ in variants:
        selected = [r for r in records if r['iters'] == iters
                    and r['seed'] in seeds and r['method'] in args.methods
                    and r['variant'] == vname]
        summary = summarize(selected)
        summaries[vname] = summary
        table = format_table(summary, args.counts, args.methods, iters,
                             args.seeds)
        texts.append(table if len(variants) == 1 and vname == 'calibrated'
                     else f'Variant {vname}:\n\n{table}')
    print('\n\n'.join(texts))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(summary=summaries.get('calibrated',
                                                 next(iter(summaries.values()))),
                           variants=summaries, iters=iters,
                           seeds=list(seeds), cfg_options=overrides), f,
                      indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
