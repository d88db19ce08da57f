#!/usr/bin/env python
"""Cost of one training iteration of every method relative to source-only.

Each method's toy config (the tiny DeepLab-v2 of
``configs/_base_/models/deeplabv2_tiny.py``; CycleGAN its toy generator and
PatchGAN) is trained for ``--warmup + --iters`` iterations with the same batch
size, in a fresh subprocess per method, through mmengine's Runner (so the
hooks of the method run too: EMA teacher, ramps). Measured per method:

* step time: median wall time from ``before_train_iter`` to
  ``after_train_iter`` (the forward/backward passes, optimizer steps and the
  method's hooks; data loading excluded), after ``--warmup`` iterations;
* peak memory: increase of the process' peak resident set size
  (``ru_maxrss``) over the training iterations (CPU has no allocator peak
  counter; on CUDA ``torch.cuda.max_memory_allocated`` is used);
* EMA share: time in ``EMATeacherHook.after_train_iter`` / step time;
* mixing share: time in the model's ``mixer`` (ClassMix/CutMix masks and
  mixing) / step time.

Usage::

    python tools/benchmarks/cost.py [--iters 10] [--warmup 2] [--batch 2]
        [--methods source_only dacs ...] [--json out.json] [--markdown]

Timings on a shared CPU are noisy: compare ratios from one run.
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# method -> (config, cfg-options specific to the method)
METHODS = {
    'source_only': ('configs/source_only/toy_source_only.py', {}),
    'dacs': ('configs/dacs/toy_dacs.py', {}),
    'mean_teacher': ('configs/mean_teacher/toy_full.py', {
        # SSL losses on from the first iteration (no warm-up)
        'custom_hooks.1.ramps.1.begin': 0,
    }),
    'ass': ('configs/ass/toy_ga_csa.py', {}),
    'cyclegan': ('configs/cyclegan/toy_day2night.py', {}),
}


def _loader_fast(loader, batch):
    if loader is None:
        return
    loader.update(num_workers=0, persistent_workers=False)
    if batch is not None:
        loader['batch_size'] = batch


def build_cfg(method: str, batch: int, iters: int, work_dir: str):
    from mmengine.config import Config
    config, extra = METHODS[method]
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(extra)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = 10**9
    _loader_fast(cfg.get('train_dataloader'), batch)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
    cfg.default_hooks.pop('visualization', None)
    cfg.custom_hooks = [
        h for h in (cfg.get('custom_hooks', []) or [])
        if 'Visualization' not in h['type']
    ]
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


def _timed(obj, name, bucket):
    """Wrap ``obj.name`` to add its wall time to ``bucket[0]``."""
    fn = getattr(obj, name)

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket[0] += time.perf_counter() - t

    setattr(obj, name, wrapper)


def worker(method: str, batch: int, iters: int, warmup: int) -> dict:
    """Train ``warmup + iters`` iterations in this process and measure."""
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.set_num_threads(1)

    ema, mix = [0.0], [0.0]
    rec = dict(steps=[], ema=[], mix=[], rss0=None, rss1=None)
    cuda = torch.cuda.is_available()

    class _CostHook(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            model = runner.model
            if is_model_wrapper(model):
                model = model.module
            for h in runner.hooks:
                if type(h).__name__ == 'EMATeacherHook':
                    _timed(h, 'after_train_iter', ema)
            mixer = getattr(model, 'mixer', None)
            if mixer is not None:  # masks + mixing (mmda.models.uda.mixing)
                for name in ('generate_masks', 'mix', 'forward'):
                    if callable(getattr(mixer, name, None)):
                        _timed(mixer, name, mix)

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            dt = time.perf_counter() - self._t0
            if runner.iter >= warmup:
                rec['steps'].append(dt)
                rec['ema'].append(ema[0] - self._ema0)
                rec['mix'].append(mix[0] - self._mix0)

    class _StartHook(Hook):
        priority = 'HIGHEST'

        def __init__(self, cost):
            self.cost = cost

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == warmup:
                rec['rss0'] = resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss
                if cuda:
                    torch.cuda.reset_peak_memory_stats()
            self.cost._ema0, self.cost._mix0 = ema[0], mix[0]
            self.cost._t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_cfg(method, batch, warmup + iters, tmp)
        runner = Runner.from_cfg(cfg)
        cost = _CostHook()
        runner.register_hook(cost)
        runner.register_hook(_StartHook(cost))
        runner.train()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = (rss1 - rec['rss0']) / 1024.0  # ru_maxrss is in KiB on Linux
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    step = statistics.median(rec['steps'])
    total = sum(rec['steps'])
    return dict(
        method=method,
        config=METHODS[method][0],
        batch=batch,
        iters=iters,
        step_s=step,
        peak_mb=peak_mb,
        peak_rss_mb=rss1 / 1024.0,
        ema_share=sum(rec['ema']) / total if total else 0.0,
        mix_share=sum(rec['mix']) / total if total else 0.0,
        has_ema=any(type(h).__name__ == 'EMATeacherHook'
                    for h in runner.hooks),
        has_mixer=mix[0] > 0)


def run_method(method, args) -> dict:
    cmd = [sys.executable, osp.abspath(__file__), '--worker', method,
           '--batch', str(args.batch), '--iters', str(args.iters),
           '--warmup', str(args.warmup)]
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'cost of {method} failed:\n{proc.stderr[-4000:]}')
    line = [x for x in proc.stdout.splitlines() if x.startswith('{')][-1]
    return json.loads(line)


def table(results) -> str:
    base = next((r for r in results if r['method'] == 'source_only'), None)
    lines = [
        '| method | step (ms) | × source-only | peak mem Δ (MB) | '
        '× source-only | EMA share | mixing share |',
        '|---|---|---|---|---|---|---|',
    ]
    for r in results:
        t_ratio = r['step_s'] / base['step_s'] if base else float('nan')
        m_ratio = (r['peak_mb'] / base['peak_mb']
                   if base and base['peak_mb'] > 0 else float('nan'))
        ema = f"{100 * r['ema_share']:.1f}%" if r['has_ema'] else '-'
        mix = f"{100 * r['mix_share']:.1f}%" if r['has_mixer'] else '-'
        lines.append(
            f"| {r['method']} | {1000 * r['step_s']:.1f} | {t_ratio:.2f} | "
            f"{r['peak_mb']:.1f} | {m_ratio:.2f} | {ema} | {mix} |")
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=list(METHODS))
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--iters', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--json', default=None, help='write the results here')
    p.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.batch < 1:
        raise SystemExit('--iters and --batch must be >= 1, --warmup >= 0')
    if args.worker:
        print(json.dumps(worker(args.worker, args.batch, args.iters,
                                args.warmup)))
        return
    methods = list(args.methods)
    if 'source_only' not in methods:
        methods.insert(0, 'source_only')  # the reference
    results = []
    for m in methods:
        print(f'measuring {m} ...', file=sys.stderr, flush=True)
        results.append(run_method(m, args))
    print(table(results))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == '__main__':
    main()
