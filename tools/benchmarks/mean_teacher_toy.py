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
* optionally ``oracle`` (``toy_oracle_night.py``): the baseline trained on
  the labelled night training images instead of the day ones (the upper
  bound of the night column);

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
import os.path as osp
import sys
from typing import Dict, List, Optional

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.benchmarks import harness  # noqa: E402
CONFIGS = dict(
    source_only='toy_source_only.py',
    translated_only='toy_translated_only.py',
    translated='toy_translated.py',
    full='toy_full.py',
    oracle='toy_oracle_night.py')
DEFAULT_ROWS = ('source_only', 'translated', 'full')
LABELS = dict(
    source_only='Baseline - Daytime',
    translated_only='Day2Night',
    translated='Day2Night + Daytime',
    full='SSL + Day2Night + Daytime + Night',
    oracle='Oracle - labelled Night')


def make_cfg(row: str, seed: int, work_dir: str, iters: Optional[int] = None,
             overrides: Optional[dict] = None, workers: int = 0,
             variant: str = 'calibrated', knobs: Optional[dict] = None):
    """The config of one run (``knobs``: a toy variant's dataset knobs,
    applied to the day and night datasets alike)."""
    from mmengine.config import Config
    if row not in CONFIGS:
        raise ValueError(f'row must be one of {sorted(CONFIGS)}, got {row!r}')
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'mean_teacher', CONFIGS[row]))
    # keeps the warm-up ramps at the same fraction of training
    harness.set_iters(cfg, iters)
    if overrides:
        cfg.merge_from_dict(overrides)
    tag = f'{row}_seed{seed}' if variant == 'calibrated' else \
        f'{variant}/{row}_seed{seed}'
    harness.prepare_run(cfg, work_dir, tag, seed, workers=workers)
    cfg.experiment_name = f'mean_teacher_toy_{tag.replace("/", "_")}'
    harness.apply_variant(cfg, knobs or {})
    return cfg


def run_one(cfg) -> Dict[str, float]:
    """Train, then evaluate both domains; returns day/night mIoU."""
    res = harness.train_and_evaluate(cfg)
    return dict(day=res['day/mIoU'], night=res['night/mIoU'])


def run_full(cfg) -> dict:
    """As :func:`run_one`, with the per-class IoU of both domains."""
    res = harness.train_and_evaluate(cfg)
    return dict(day=res['day/mIoU'], night=res['night/mIoU'],
                per_class=res['per_class'], iters=res['iters'])


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
    harness.add_common_args(p, work_dir=osp.join('work_dirs',
                                                 'bench_mean_teacher_toy'))
    p.add_argument('--rows', nargs='+', choices=sorted(CONFIGS),
                   default=list(DEFAULT_ROWS))
    p.add_argument('--iters', type=int, default=None,
                   help='override max_iters (poly end and warm-up scaled)')
    p.add_argument('--workers', type=int, default=0,
                   help='dataloader workers')
    return p.parse_args(argv)


def variant_table(records: List[dict], variants, rows) -> str:
    """Per variant: day and night mIoU of every row, and full - source-only
    at night."""
    names = [v for v, _ in variants]
    day = harness.summarise(records, 'day')
    night = harness.summarise(records, 'night')
    head = ['variant'] + [f'{r} day / night' for r in rows] + \
        ['full − source-only (night / day)']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for v in names:
        cells = [v]
        for r in rows:
            d, n = day.get(v, {}).get(r), night.get(v, {}).get(r)
            cells.append('-' if not d else
                         f'{d["mean"]:.1f} / {n["mean"]:.1f} (n={n["n"]})')
        so, fu = night.get(v, {}).get('source_only'), \
            night.get(v, {}).get('full')
        if so and fu:
            cells.append(f'{fu["mean"] - so["mean"]:+.1f} / '
                         f'{day[v]["full"]["mean"] - day[v]["source_only"]["mean"]:+.1f}')
        else:
            cells.append('-')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    harness.setup(args.threads)
    variants = harness.resolve_variants(args.variants)
    overrides = dict(args.cfg_options)
    log = harness.ResultLog(osp.join(args.work_dir, 'results.jsonl'))
    bench = 'mean_teacher_toy'
    lengths = {r: args.iters or int(make_cfg(r, 0, args.work_dir)
                                    .train_cfg.max_iters) for r in args.rows}

    def run(row, vname, knobs, seed):
        return run_full(make_cfg(row, seed, args.work_dir, args.iters,
                                 overrides, args.workers, vname, knobs))

    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    harness.run_grid(log, bench, variants, seeds, args.rows, run,
                     lengths.get, overrides,
                     say=lambda s: print(s, flush=True))
    records = [r for r in log.select(bench=bench, cfg_options=overrides,
                                     seed=seeds, row=args.rows,
                                     variant=[v for v, _ in variants])
               if r['iters'] == lengths[r['row']]]
    iters = lengths[args.rows[0]]
    texts = []
    summaries = {}
    for vname, _ in variants:
        recs = [r for r in records if r['variant'] == vname]
        results: Dict[str, List[Dict[str, float]]] = {}
        for r in recs:
            results.setdefault(r['row'], []).append(
                dict(day=r['day'], night=r['night']))
        summary = summarize(results)
        summaries[vname] = summary
        n = max([len(v) for v in results.values()] or [0])
        texts.append(f'Variant {vname}:\n\n' +
                     format_table(summary, n, iters))
    if len(variants) > 1:
        texts.append('All variants (mean over seeds):\n\n' +
                     variant_table(records, variants, args.rows))
    print('\n\n'.join(texts))
    harness.write_json(args.out, dict(summary=summaries,
                                      variants=dict(variants),
                                      config=vars(args)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
