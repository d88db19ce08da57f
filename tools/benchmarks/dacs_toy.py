#!/usr/bin/env python
"""DACS on the embedded toy benchmark: source-only vs DACS vs oracle.

For each variant of the toy and each seed, three runs with the same tiny
model, optimiser, schedule, batch size and source pipeline
(``configs/dacs/toy_dacs.py``):

* ``source_only``: :class:`BaseUDASegmentor` (student trained on the labelled
  source half of the UDA batches only);
* ``dacs``: the config itself (:class:`DACS`; the toy's constant
  pseudo-label weight, thesis Table 5.1 "constant");
* ``dacs_tau`` (target only, not run by default): the thesis' default
  weight, the share of pixels with teacher confidence >= 0.968 per batch
  (eq. 2.15; ``configs/dacs/toy_dacs_threshold_uniform.py``);
* ``dacs_da`` (not run by default): ``dacs`` with the distribution
  alignment of the teacher probabilities of the thesis' ablation (§2.5.6,
  §5.2.2, Table 5.2; there with IntraMix, here with DACS' InterMix), the
  desired distribution ``p(y)`` being the class frequencies of the
  variant's labelled *source* training images (the toy's domains share
  the layout distribution, so no target label is used);
* ``dacs_mic`` (not run by default): DACS + masked image consistency
  (``configs/mic/toy_dacs_mic.py``, ``toy_dacs_mic_night.py``; MIC, Hoyer
  et al. 2023, docs/daformer_mic.md);
* ``oracle``: the same model trained on the *target* training labels.

All are evaluated on the target val split; the table reports, per variant,
the mean and standard deviation of the mIoU over the seeds and the fraction
of the source-only -> oracle gap that DACS closes, then the per-class IoU
and the classes that DACS collapses (source-only > 15 IoU, DACS < 5).
Finished runs are appended to ``{work_dir}/results.jsonl`` and skipped when
the benchmark is started again (``tools/benchmarks/harness.py``).

Usage::

    python tools/benchmarks/dacs_toy.py [--seeds 3] [--iters N]
        [--variants calibrated day-sweep shift0.6-a ...]
        [--methods source_only dacs oracle] [--diagnose]
        [--target target|night] [--work-dir work_dirs/bench_dacs_toy]
        [--out summary.json]

``--diagnose`` adds the per-class pseudo-label diagnostic
(:class:`mmda.engine.hooks.PseudoLabelDiagnosticHook`) to the DACS runs; its
log is ``{run work dir}/pseudo_label_diagnostic.jsonl``.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.benchmarks import harness  # noqa: E402

CONFIGS = dict(
    target=osp.join(ROOT, 'configs', 'dacs', 'toy_dacs.py'),
    night=osp.join(ROOT, 'configs', 'dacs', 'toy_dacs_night.py'))
METHODS = ('source_only', 'dacs', 'oracle', 'dacs_tau', 'dacs_da',
           'dacs_mic')
DEFAULT_METHODS = ('source_only', 'dacs', 'oracle')
#: rows trained from another config than CONFIGS[target]
ROW_CONFIGS = dict(
    dacs_tau=dict(target=osp.join(
        ROOT, 'configs', 'dacs', 'toy_dacs_threshold_uniform.py')),
    dacs_mic=dict(
        target=osp.join(ROOT, 'configs', 'mic', 'toy_dacs_mic.py'),
        night=osp.join(ROOT, 'configs', 'mic', 'toy_dacs_mic_night.py')))
LABELS = dict(source_only='source-only', dacs='DACS', oracle='oracle',
              dacs_tau='DACS (τ-weight)', dacs_da='DACS + dist. align',
              dacs_mic='DACS + MIC')
DACS_ROWS = ('dacs', 'dacs_tau', 'dacs_da', 'dacs_mic')


def make_cfg(method: str, seed: int, target: str, work_dir: str,
             iters=None, lr=None, batch_size=None, overrides=None,
             variant: str = 'calibrated', knobs=None, diagnose=False):
    """The config of one run (see the module docstring)."""
    from mmengine.config import Config
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    if method in ROW_CONFIGS:
        if target not in ROW_CONFIGS[method]:
            raise ValueError(f'{method} has no config for target {target!r}')
        cfg = Config.fromfile(ROW_CONFIGS[method][target])
    else:
        cfg = Config.fromfile(CONFIGS[target])
    if overrides:
        cfg.merge_from_dict(overrides)
    harness.set_iters(cfg, iters)
    tag = f'{method}_seed{seed}' if variant == 'calibrated' else \
        f'{variant}/{method}_seed{seed}'
    harness.prepare_run(cfg, work_dir, tag, seed)
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
    if method == 'dacs_da':
        src = copy.deepcopy(cfg.train_dataloader.dataset.source)
        src.update(knobs or {})
        cfg.model.dist_align = dict(
            type='DistributionAlignment',
            num_classes=int(cfg.model.segmentor.decode_head.num_classes),
            momentum=0.99, stat='hard',
            target_dist=source_class_distribution(src))
    if method in DACS_ROWS and diagnose:
        cfg.custom_hooks.append(dict(
            type='PseudoLabelDiagnosticHook',
            dataset=dict(type='ToySegDataset', domain=target, split='train',
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='LoadAnnotations'),
                                   dict(type='PackSegInputs')]),
            num_images=48, interval=max(cfg.train_cfg.max_iters // 12, 1)))
    harness.apply_variant(cfg, knobs or {})
    return cfg


def source_class_distribution(dataset: dict, num_classes: int = 19) -> list:
    """Pixel frequencies of the train ids in the labels of a toy dataset
    config (its label files; generated on first use)."""
    import numpy as np
    from PIL import Image

    from mmda.datasets.toy import ToySegDataset
    kw = {k: v for k, v in dataset.items()
          if k not in ('type', 'pipeline')}
    ds = ToySegDataset(pipeline=[], **kw)
    counts = np.zeros(256, np.int64)
    for i in range(len(ds)):
        lbl = np.asarray(Image.open(ds.get_data_info(i)['seg_map_path']))
        counts += np.bincount(lbl.ravel(), minlength=256)
    counts = counts[:num_classes].astype(np.float64)
    return [round(float(v), 5) for v in counts / counts.sum()]


def run_one(cfg) -> float:
    """Train, then evaluate on the val split; returns the mIoU."""
    return harness.train_and_evaluate(cfg)['mIoU']


def summarize(results: Dict[str, List[float]]) -> dict:
    """``{method: stats}`` and ``gap_closed`` of one variant's mIoUs."""
    out = {m: harness.stats(v) for m, v in results.items() if v}
    g = harness.gap_closed(out, 'dacs')
    if g is not None:
        out['gap_closed'] = g
    return out


def format_table(summary: dict, target: str, seeds: int) -> str:
    """One variant's table (the calibrated toy's historical layout)."""
    lines = [f'Toy benchmark, source -> {target} (target val mIoU, '
             f'{seeds} seed(s))', '',
             '| method | mIoU (mean ± std) | runs |', '|---|---|---|']
    for m in METHODS:
        if m in summary and isinstance(summary[m], dict):
            s = summary[m]
            runs = ', '.join(f'{v:.2f}' for v in s['runs'])
            lines.append(f'| {m} | {s["mean"]:.2f} ± {s["std"]:.2f} | '
                         f'{runs} |')
    if 'gap_closed' in summary:
        lines.append('')
        lines.append('DACS closes {:.0%} of the source-only -> oracle gap.'
                     .format(summary['gap_closed']))
    return '\n'.join(lines)


def diagnostic_tables(path: str, every: int = 2) -> List[str]:
    """Markdown lines: the pseudo-label diagnostic of one DACS run (recall
    of the pseudo-labels per true class, teacher confidence, where the
    errors go at the end)."""
    from mmda.engine.hooks.pseudo_label_diagnostic_hook import (
        diagnostic_table, load_diagnostic)
    recs = load_diagnostic(path)
    last = recs[-1]
    lines = ['Pseudo-label recall (%) per true class over training:', '',
             diagnostic_table(recs, 'recall', every=every), '',
             'Teacher confidence (mean max softmax) per true class:', '',
             diagnostic_table(recs, 'conf', every=every), '',
             f'At iteration {last["iter"]} (pseudo-label accuracy '
             f'{last["acc"]:.1f}%), where the pixels of each class go:', '']
    for c, r in last['per_class'].items():
        if 'recall' in r:
            to = ', '.join(f'{k} {v:.0f}%' for k, v in r['to'].items())
            lines.append(f'- {c}: right {r["recall"]:.0f}%, precision '
                         f'{r.get("precision", float("nan")):.0f}%, '
                         f'share of pseudo-labels {r["share"]:.1f}% '
                         f'(true {100 * r["pixels"] / max(1, sum(x["pixels"] for x in last["per_class"].values())):.1f}%); '
                         f'errors to {to or "-"}')
    return lines


def report(records: List[dict], variants, methods, target: str,
           work_dir: str = None) -> str:
    """Sweep table + per-variant per-class tables and collapse check (and
    the pseudo-label diagnostic of the first seed's DACS runs found in
    ``work_dir``)."""
    names = [v for v, _ in variants]
    summary = harness.summarise(records)
    n = max([s['n'] for d in summary.values() for s in d.values()] or [0])
    lines = [f'DACS toy sweep, source -> {target} (target val mIoU, up to '
             f'{n} seed(s) per cell)', '',
             harness.markdown_table(summary, methods, names, LABELS,
                                    gap_of=[m for m in DACS_ROWS
                                            if m in methods]
                                    if {'source_only', 'oracle'} <= set(
                                        methods) else [],
                                    knobs=dict(variants))]
    means = harness.per_class_means(records)
    for v in names:
        if v not in means:
            continue
        lines += ['', f'Per-class IoU, {v} (mean over seeds):', '',
                  harness.per_class_table(means[v], methods, LABELS)]
        for m in DACS_ROWS:
            if m in means[v] and 'source_only' in means[v]:
                bad = harness.collapsed_classes(means[v], m)
                lines += ['', f'Classes above 15 IoU under source-only that '
                          f'{LABELS[m]} drives below 5: '
                          f'{", ".join(bad) if bad else "none"}']
        if work_dir is None:
            continue
        for m in DACS_ROWS:
            seeds = sorted(r['seed'] for r in records
                           if r['variant'] == v and r['row'] == m)
            if not seeds:
                continue
            tag = f'{m}_seed{seeds[0]}' if v == 'calibrated' else \
                f'{v}/{m}_seed{seeds[0]}'
            path = osp.join(work_dir, tag, 'pseudo_label_diagnostic.jsonl')
            if osp.isfile(path):
                lines += ['', f'{LABELS[m]}, {v}, seed {seeds[0]}:', ''] + \
                    diagnostic_tables(path)
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    harness.add_common_args(p, work_dir=osp.join('work_dirs',
                                                 'bench_dacs_toy'))
    p.add_argument('--target', choices=sorted(CONFIGS), default='target')
    p.add_argument('--methods', nargs='+', choices=METHODS,
                   default=list(DEFAULT_METHODS))
    p.add_argument('--iters', type=int, default=None,
                   help='override train_cfg.max_iters (and the poly end)')
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--diagnose', action='store_true',
                   help='log the per-class pseudo-label diagnostic of the '
                   'DACS runs')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    harness.setup(args.threads)
    variants = harness.resolve_variants(args.variants)
    overrides = dict(args.cfg_options)
    for k, v in (('lr', args.lr), ('batch_size', args.batch_size)):
        if v is not None:  # part of a run's identity in the log
            overrides[f'_{k}'] = v
    log = harness.ResultLog(osp.join(args.work_dir, 'results.jsonl'))
    bench = f'dacs_toy_{args.target}'
    cfg_overrides = {k: v for k, v in overrides.items()
                     if not k.startswith('_')}

    def iters_of(method):
        return args.iters or int(harness.config_copy(make_cfg(
            method, 0, args.target, args.work_dir)).train_cfg.max_iters)

    lengths = {m: iters_of(m) for m in args.methods}

    def run(method, vname, knobs, seed):
        cfg = make_cfg(method, seed, args.target, args.work_dir, args.iters,
                       args.lr, args.batch_size, cfg_overrides, vname, knobs,
                       args.diagnose)
        return harness.train_and_evaluate(cfg)

    seeds = list(range(args.seed_offset, args.seed_offset + args.seeds))
    harness.run_grid(log, bench, variants, seeds, args.methods, run,
                     lengths.get, overrides,
                     say=lambda s: print(s, flush=True))
    records = [r for r in log.select(bench=bench, cfg_options=overrides,
                                     seed=seeds, row=args.methods,
                                     variant=[v for v, _ in variants])
               if r['iters'] == lengths[r['row']]]
    text = report(records, variants, args.methods, args.target,
                  args.work_dir)
    print(text)
    summary = harness.summarise(records)
    for v, row in summary.items():
        for m in DACS_ROWS:
            g = harness.gap_closed(row, m)
            if g is not None:
                row[f'gap_closed_{m}'] = g
    harness.write_json(args.out, dict(summary=summary,
                                      variants=dict(variants),
                                      config=dict(vars(args))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
