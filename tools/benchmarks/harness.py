"""The shared machinery of the toy benchmarks of ``tools/benchmarks/``.

Each toy benchmark script (``dacs_toy.py``, ``mean_teacher_toy.py``,
``sie_toy.py``, ``ass_toy.py``, ``cyclegan_seg_toy.py``) declares its rows
(which config, what is switched off) and leaves the rest to this module:

* variants of the toy (:data:`VARIANTS`, :func:`resolve_variants`,
  :func:`apply_variant`): the rendering knobs of
  :class:`mmda.datasets.toy.ToySegDataset` set on every toy dataset of a
  config, so a benchmark runs unchanged on another rendering of the toy;
* building a run's config (:func:`set_iters`, :func:`prepare_run`): work dir,
  seed, schedule length, checkpoint/logger intervals, no intermediate
  validation, no dataloader workers;
* running it (:func:`train_and_evaluate`): train, evaluate once, and return
  the metrics with the per-class IoU of every evaluated domain;
* resuming (:class:`ResultLog`): every finished run is appended to a
  ``results.jsonl`` and skipped when the benchmark is started again with
  the same options, so an interrupted sweep still gives a table;
* summarising and formatting (:func:`summarise`, :func:`markdown_table`,
  :func:`per_class_table`).

The standard sweeps (``--variants day-sweep`` / ``night-sweep``):
colour-shift strength 0.4 / 0.5 / 0.6 with two (scene seed, shift seed)
pairs for the day target, and night darkness 0.85 / 0.9 / 0.95 with two
(scene seed, tint / noise) settings for the night; the results are in
``docs/toy_variants.md``.

Import it as ``from tools.benchmarks import harness`` with the repository
root on ``sys.path`` (the scripts put it there).
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# ---------------------------------------------------------------------------
# Variants of the toy
# ---------------------------------------------------------------------------
#: Names of the toy's classes in train-id order (the ten toy classes).
TOY_CLASS_NAMES = ('road', 'sidewalk', 'building', 'pole', 'traffic sign',
                   'vegetation', 'terrain', 'sky', 'person', 'car')

#: Named variants: dataset arguments of ToySegDataset (``seed`` is the scene
#: seed). ``calibrated`` is the toy of the README (all defaults).
VARIANTS: Dict[str, dict] = {'calibrated': {}}
_DAY_PAIRS = {'a': dict(seed=1, shift_seed=1), 'b': dict(seed=2, shift_seed=2)}
for _pair, _knobs in _DAY_PAIRS.items():
    for _s in (0.4, 0.5, 0.6):
        VARIANTS[f'shift{_s}-{_pair}'] = dict(_knobs, shift_strength=_s)
_NIGHT_PAIRS = {
    'a': dict(seed=1),
    'b': dict(seed=2, night_tint=(0.9, 0.9, 1.1), night_noise_std=7.0),
}
for _pair, _knobs in _NIGHT_PAIRS.items():
    for _d in (0.85, 0.9, 0.95):
        VARIANTS[f'dark{_d}-{_pair}'] = dict(_knobs, night_darkness=_d)

#: The standard sweeps (``--variants day-sweep`` / ``night-sweep``).
SWEEPS = {
    'day-sweep': [f'shift{s}-{p}' for p in _DAY_PAIRS for s in (0.4, 0.5, 0.6)],
    'night-sweep': [f'dark{d}-{p}' for p in _NIGHT_PAIRS
                    for d in (0.85, 0.9, 0.95)],
}


def parse_variant(text: str) -> Tuple[str, dict]:
    """``name`` of :data:`VARIANTS` or an inline ``name:key=value,...``
    (e.g. ``mine:seed=3,shift_strength=0.7``; a tint as ``0.9/0.9/1.1``)."""
    if ':' not in text:
        if text not in VARIANTS:
            raise ValueError(
                f'--variants: unknown variant {text!r}; choose from '
                f'{sorted(VARIANTS) + sorted(SWEEPS)} or write '
                'name:key=value,... (knobs: seed, shift_seed, '
                'shift_strength, night_darkness, night_noise_std, '
                'night_sky_gain, night_tint=r/g/b)')
        return text, dict(VARIANTS[text])
    name, _, body = text.partition(':')
    knobs = {}
    for item in filter(None, body.split(',')):
        key, eq, value = item.partition('=')
        if not eq:
            raise ValueError(f'--variants {text!r}: expected key=value, got '
                             f'{item!r}')
        key = key.strip()
        if key == 'night_tint':
            knobs[key] = tuple(float(v) for v in value.split('/'))
        elif key in ('seed', 'shift_seed'):
            knobs[key] = int(value)
        else:
            knobs[key] = float(value)
    check_knobs(knobs, f'--variants {text!r}')
    return name, knobs


def check_knobs(knobs: dict, where: str) -> None:
    """Raise a clear error if ``knobs`` are not valid toy dataset knobs."""
    from mmda.datasets.toy import render_params
    render = {k: v for k, v in knobs.items() if k != 'seed'}
    try:
        render_params(render)
    except ValueError as e:
        raise ValueError(f'{where}: {e}') from None
    if 'seed' in knobs and (isinstance(knobs['seed'], bool) or
                            int(knobs['seed']) != knobs['seed']):
        raise ValueError(f'{where}: seed must be an integer, got '
                         f'{knobs["seed"]!r}')


def resolve_variants(names: Optional[Sequence[str]]) -> List[Tuple[str, dict]]:
    """``[(name, knobs)]`` of ``--variants`` (sweep names expanded; None:
    the calibrated toy only)."""
    out: List[Tuple[str, dict]] = []
    for text in names or ['calibrated']:
        for item in SWEEPS.get(text, [text]):
            name, knobs = parse_variant(item)
            if name in [n for n, _ in out]:
                continue
            out.append((name, knobs))
    return out


def _toy_datasets(node) -> Iterable[dict]:
    """Every ``ToySegDataset`` dict below a config node (and every toy image
    source ``dict(toy=domain, ...)`` of ``UnpairedImageDataset``)."""
    if isinstance(node, dict):
        if node.get('type') in ('ToySegDataset', 'mmda.ToySegDataset') or \
                isinstance(node.get('toy'), str):
            yield node
        for v in node.values():
            yield from _toy_datasets(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _toy_datasets(v)


def apply_variant(cfg, knobs: dict, require: bool = True) -> int:
    """Set the variant's knobs on every toy dataset of ``cfg`` (in place).

    Returns the number of datasets changed; with ``require`` a config
    without toy dataset raises (a variant that would silently do nothing).
    """
    if not knobs:
        return 0
    check_knobs(knobs, 'variant')
    n = 0
    for ds in _toy_datasets(cfg._cfg_dict if hasattr(cfg, '_cfg_dict')
                            else cfg):
        if ds.get('data_root') is not None:
            raise ValueError(
                f'a toy variant cannot be applied to a dataset with an '
                f'explicit data_root ({ds["data_root"]!r}): each variant is '
                'generated into its own default folder')
        for k, v in knobs.items():
            ds[k] = list(v) if isinstance(v, tuple) else v
        n += 1
    if require and n == 0:
        raise ValueError('the config has no ToySegDataset to apply a toy '
                         'variant to')
    return n


# ---------------------------------------------------------------------------
# Building one run
# ---------------------------------------------------------------------------
def set_iters(cfg, iters: Optional[int]) -> None:
    """Shorten/lengthen the schedule: ``max_iters``, the ends of the
    parameter schedulers (a list, or a dict of lists per optimiser) and the
    ``begin`` of the ramps of custom hooks (kept at the same fraction)."""
    if iters is None:
        return
    old = int(cfg.train_cfg.max_iters)
    cfg.train_cfg.max_iters = int(iters)
    scheds = cfg.get('param_scheduler') or []
    groups = scheds.values() if isinstance(scheds, dict) else [scheds]
    for group in groups:
        for s in (group if isinstance(group, (list, tuple)) else [group]):
            if s.get('end', None) is not None:
                s['end'] = int(iters)
    for hook in cfg.get('custom_hooks') or []:
        for ramp in hook.get('ramps', []) or []:
            if ramp.get('begin'):
                ramp['begin'] = int(round(ramp['begin'] * iters / old))


def prepare_run(cfg, work_dir: str, name: str, seed: int,
                log_interval: Optional[int] = None,
                workers: int = 0) -> None:
    """Per-run settings (in place): work dir ``{work_dir}/{name}``, seed,
    checkpoint at the end only, no validation during training (the harness
    evaluates once afterwards), logger interval, dataloader workers."""
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = f'{osp.basename(work_dir)}_{name}'
    if cfg.get('visualizer') is not None:
        # several Runners in one process: unique global instances
        cfg.visualizer.name = cfg.experiment_name
    cfg.randomness = dict(seed=int(seed))
    n = int(cfg.train_cfg.max_iters)
    cfg.train_cfg.val_interval = n + 1
    if 'val_begin' in cfg.train_cfg:
        cfg.train_cfg.val_begin = n + 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=n, max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=log_interval or max(n // 10, 1),
        log_metric_by_epoch=False)
    cfg.default_hooks.pop('visualization', None)
    set_workers(cfg, workers)


def set_workers(cfg, workers: int = 0) -> None:
    """``num_workers`` of every dataloader of the config (train, val, test
    and the per-domain loaders of MultiDomainValLoop)."""
    loaders = [cfg.get(k) for k in ('train_dataloader', 'val_dataloader',
                                    'test_dataloader')]
    for loop in ('val_cfg', 'test_cfg'):
        for d in (cfg.get(loop) or {}).get('domains', []) or []:
            loaders.append(d.get('dataloader'))
    for dl in loaders:
        if dl:
            dl['num_workers'] = workers
            dl['persistent_workers'] = workers > 0


def _per_class(results, classes) -> Dict[str, float]:
    """Per-class IoU (%) from IoUMetric results (NaN: class absent)."""
    import torch
    inter = torch.stack([r[0] for r in results]).sum(0).double()
    union = torch.stack([r[1] for r in results]).sum(0).double()
    iou = (inter / union * 100).tolist()
    return {str(c): float(v) for c, v in zip(classes, iou)}


def _capture_per_class(runner) -> Dict[str, dict]:
    """Record the per-class IoU of every IoUMetric the val loop runs:
    returns ``{prefix or '': {class: IoU}}``, filled during evaluation."""
    from mmseg.evaluation import IoUMetric
    loop = runner.val_loop
    pairs = [(d['prefix'], d['evaluator']) for d in loop.domains] \
        if hasattr(loop, 'domains') else [('', loop.evaluator)]
    store: Dict[str, dict] = {}
    for prefix, evaluator in pairs:
        for metric in evaluator.metrics:
            if not isinstance(metric, IoUMetric) or metric.prefix:
                continue
            original = metric.compute_metrics

            def compute(results, _orig=original, _m=metric, _p=prefix):
                classes = _m.dataset_meta['classes']
                store[_p] = _per_class(results, classes)
                return _orig(results)

            metric.compute_metrics = compute
    return store


def train_and_evaluate(cfg, hooks: Sequence = ()) -> dict:
    """Train ``cfg`` with mmengine's Runner, then run its val loop once.

    Returns the val metrics (floats) plus ``per_class``: ``{domain prefix
    ('' for a single domain): {class name: IoU}}`` and ``iters``.
    """
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    for hook in hooks:
        runner.register_hook(hook, priority='LOWEST')
    runner.train()
    store = _capture_per_class(runner)
    metrics = runner.val_loop.run()
    out = {k: float(v) for k, v in metrics.items()
           if isinstance(v, (int, float, np.floating))}
    out['per_class'] = {p: {c: v for c, v in d.items() if np.isfinite(v)}
                        for p, d in store.items()}
    out['iters'] = int(runner.iter)
    return out


# ---------------------------------------------------------------------------
# Resumable results
# ---------------------------------------------------------------------------
def options_key(options) -> str:
    return json.dumps(options or {}, sort_keys=True, default=str)


class ResultLog:
    """Finished runs, one JSON object per line in ``path``.

    A run is identified by ``key_fields`` (by default bench, variant, row,
    seed, iters and the ``--cfg-options``); :meth:`done` tells whether a run
    of that identity is recorded, :meth:`add` appends one (flushed at once,
    so a killed sweep loses at most the run in progress).
    """

    KEY = ('bench', 'variant', 'row', 'seed', 'iters', 'cfg_options')

    def __init__(self, path: str, key_fields: Sequence[str] = KEY):
        self.path = path
        self.key_fields = tuple(key_fields)
        self.records: List[dict] = []
        if osp.isfile(path):
            with open(path) as f:
                for i, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        self.records.append(json.loads(line))
                    except ValueError as e:
                        raise ValueError(
                            f'{path}, line {i}: not a JSON record ({e}); '
                            'fix or delete that line') from None

    def key(self, rec: dict) -> tuple:
        return tuple(options_key(rec.get(k)) if k == 'cfg_options'
                     else json.dumps(rec.get(k), sort_keys=True)
                     for k in self.key_fields)

    def find(self, **ident) -> Optional[dict]:
        k = self.key(ident)
        for r in reversed(self.records):
            if self.key(r) == k:
                return r
        return None

    def done(self, **ident) -> bool:
        return self.find(**ident) is not None

    def add(self, rec: dict) -> None:
        self.records.append(rec)
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        with open(self.path, 'a') as f:
            f.write(json.dumps(rec) + '\n')

    def select(self, **filters) -> List[dict]:
        """Records whose fields equal ``filters`` (a list/tuple/set value
        means "one of"; ``cfg_options`` compared by content)."""
        out = []
        for r in self.records:
            ok = True
            for k, v in filters.items():
                if k == 'cfg_options':
                    ok = options_key(r.get(k)) == options_key(v)
                elif isinstance(v, (list, tuple, set)):
                    ok = r.get(k) in v
                else:
                    ok = r.get(k) == v
                if not ok:
                    break
            if ok:
                out.append(r)
        return out


def run_grid(log: ResultLog, bench: str, variants: List[Tuple[str, dict]],
             seeds: Iterable[int], rows: Sequence[str],
             run: Callable[[str, str, dict, int], dict],
             iters_of: Callable[[str], int], cfg_options: dict,
             say: Callable[[str], None] = print) -> None:
    """Run every (variant, seed, row) not yet in ``log``.

    ``run(row, variant_name, knobs, seed)`` trains and returns the metrics
    dict; ``iters_of(row)`` is the run's length (part of its identity).
    Order: variant, then seed, then row (so a partial sweep has complete
    rows of the first variants).
    """
    t0 = time.time()
    for vname, knobs in variants:
        for seed in seeds:
            for row in rows:
                ident = dict(bench=bench, variant=vname, row=row, seed=seed,
                             iters=iters_of(row), cfg_options=cfg_options)
                if log.done(**ident):
                    continue
                res = run(row, vname, knobs, seed)
                rec = dict(ident, knobs=knobs, **res)
                log.add(rec)
                main = {k: v for k, v in res.items()
                        if isinstance(v, float) and
                        (k.endswith('mIoU') or k in ('day', 'night'))}
                say(f'[{bench}] {vname} seed {seed} {row}: ' + ', '.join(
                    f'{k} {v:.2f}' for k, v in main.items()) +
                    f' ({time.time() - t0:.0f} s)')


# ---------------------------------------------------------------------------
# Summaries and tables
# ---------------------------------------------------------------------------
def stats(values: Sequence[float]) -> dict:
    vals = [float(v) for v in values]
    return dict(mean=float(np.mean(vals)), std=float(np.std(vals)),
                runs=vals, n=len(vals))


def summarise(records: List[dict], metric: str = 'mIoU',
              by: Tuple[str, str] = ('variant', 'row')) -> Dict[str, dict]:
    """``{variant: {row: stats}}`` of ``metric`` over the seeds."""
    table: Dict[str, Dict[str, List[float]]] = {}
    for r in records:
        if metric not in r:
            continue
        table.setdefault(r[by[0]], {}).setdefault(r[by[1]], []).append(
            r[metric])
    return {a: {b: stats(v) for b, v in d.items()} for a, d in table.items()}


def gap_closed(summary_row: dict, method: str, low: str = 'source_only',
               high: str = 'oracle') -> Optional[float]:
    """Fraction of the ``low`` -> ``high`` gap that ``method`` closes."""
    if not all(k in summary_row for k in (method, low, high)):
        return None
    lo, hi = summary_row[low]['mean'], summary_row[high]['mean']
    if hi == lo:
        return None
    return (summary_row[method]['mean'] - lo) / (hi - lo)


def fmt_stats(s: Optional[dict], digits: int = 1) -> str:
    if not s:
        return '-'
    if s['n'] == 1:
        return f'{s["mean"]:.{digits}f}'
    return f'{s["mean"]:.{digits}f} ± {s["std"]:.{digits}f} (n={s["n"]})'


def markdown_table(summary: Dict[str, dict], rows: Sequence[str],
                   variants: Sequence[str], labels: Optional[dict] = None,
                   gap_of: Sequence[str] = (), knobs: Optional[dict] = None
                   ) -> str:
    """One line per variant, one column per row (mean ± std over seeds),
    plus "gap closed" columns for the rows in ``gap_of``."""
    labels = labels or {}
    head = ['variant'] + ([('knobs')] if knobs else []) + \
        [labels.get(r, r) for r in rows] + \
        [f'{labels.get(m, m)} closes' for m in gap_of]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for v in variants:
        row = summary.get(v, {})
        cells = [v]
        if knobs:
            cells.append(', '.join(f'{k}={_fmt_knob(x)}'
                                   for k, x in knobs.get(v, {}).items())
                         or 'defaults')
        cells += [fmt_stats(row.get(r)) for r in rows]
        for m in gap_of:
            g = gap_closed(row, m)
            cells.append('-' if g is None else f'{g:.0%}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _fmt_knob(x) -> str:
    if isinstance(x, (list, tuple)):
        return '/'.join(f'{v:g}' for v in x)
    return f'{x:g}' if isinstance(x, float) else str(x)


def per_class_means(records: List[dict], domain: str = ''
                    ) -> Dict[str, Dict[str, Dict[str, float]]]:
    """``{variant: {row: {class: mean IoU over seeds}}}``."""
    acc: Dict[str, Dict[str, Dict[str, List[float]]]] = {}
    for r in records:
        pc = (r.get('per_class') or {}).get(domain)
        if not pc:
            continue
        d = acc.setdefault(r['variant'], {}).setdefault(r['row'], {})
        for c, v in pc.items():
            d.setdefault(c, []).append(v)
    return {v: {row: {c: float(np.mean(x)) for c, x in d.items()}
                for row, d in rows.items()} for v, rows in acc.items()}


def per_class_table(means: Dict[str, Dict[str, float]], rows: Sequence[str],
                    labels: Optional[dict] = None,
                    classes: Sequence[str] = TOY_CLASS_NAMES) -> str:
    """Classes as columns, rows (methods) as lines: per-class IoU means."""
    labels = labels or {}
    present = [c for c in classes if any(c in means.get(r, {})
                                         for r in rows)]
    lines = ['| row | ' + ' | '.join(present) + ' |',
             '|---|' + '---|' * len(present)]
    for r in rows:
        if r not in means:
            continue
        lines.append(f'| {labels.get(r, r)} | ' + ' | '.join(
            f'{means[r][c]:.1f}' if c in means[r] else '-'
            for c in present) + ' |')
    return '\n'.join(lines)


def collapsed_classes(means: Dict[str, Dict[str, float]], method: str,
                      base: str = 'source_only', above: float = 15.0,
                      below: float = 5.0) -> List[str]:
    """Classes ``base`` gets above ``above`` IoU that ``method`` drives
    below ``below`` (the "no collapse" criterion of the variant sweep)."""
    if method not in means or base not in means:
        return []
    return [c for c, v in means[base].items()
            if v > above and means[method].get(c, 0.0) < below]


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def add_common_args(p: argparse.ArgumentParser, default_seeds: int = 3,
                    work_dir: Optional[str] = None) -> None:
    """``--variants --seeds --seed-offset --cfg-options --threads
    --work-dir --out`` (the arguments every toy benchmark shares)."""
    from mmengine.config import DictAction
    p.add_argument('--variants', nargs='+', default=None, metavar='VARIANT',
                   help='toy variants: names (' + ', '.join(
                       sorted(VARIANTS)) + '), sweeps (' +
                   ', '.join(SWEEPS) + ') or name:key=value,... '
                   '(default: the calibrated toy)')
    p.add_argument('--seeds', type=int, default=default_seeds)
    p.add_argument('--seed-offset', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='key=value overrides merged into every config '
                   '(mmengine DictAction); runs are recorded and reused per '
                   'set of overrides')
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads per run (default 1)')
    if work_dir is not None:
        p.add_argument('--work-dir', default=work_dir)
    p.add_argument('--out', default=None, help='write a JSON summary')


def setup(threads: int = 1) -> None:
    """Repository on sys.path, torch threads, mmda registries."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(max(1, int(threads)))
    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)


def write_json(path: Optional[str], obj) -> None:
    if not path:
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2, default=str)


def config_copy(cfg):
    """A deep copy of an mmengine Config (configs are mutated per run)."""
    return copy.deepcopy(cfg)
