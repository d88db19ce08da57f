"""Calibration of the embedded toy benchmark: source-only vs oracle.

Trains the source-only and oracle configs of ``configs/source_only/toy_*.py``
for several seeds through mmengine's ``Runner`` (CPU, temporary work dirs)
and prints a markdown table of the evaluation-domain mIoU (mean ± std over
seeds) and the source-only / oracle ratio that docs/methods.md
(#calibrating-the-toy-benchmark) aims at 40-60%.

Example::

    python tools/benchmarks/toy_source_only.py --seeds 3
    python tools/benchmarks/toy_source_only.py --seeds 1 --tasks target \
        --max-iters 300 --out work_dirs/toy_calibration.md
"""
import argparse
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: task -> (source-only config, oracle config), relative to the repository.
TASKS = {
    'target': ('configs/source_only/toy_source_only.py',
               'configs/source_only/toy_oracle.py'),
    'night': ('configs/source_only/toy_night_source_only.py',
              'configs/source_only/toy_night_oracle.py'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train toy source-only and oracle models for several '
        'seeds and print a markdown table of their mIoU.')
    parser.add_argument('--seeds', type=int, default=3,
                        help='number of seeds (0, 1, ...); default 3')
    parser.add_argument('--tasks', nargs='+', default=list(TASKS),
                        choices=list(TASKS), help='toy tasks to measure')
    parser.add_argument('--max-iters', type=int, default=None,
                        help='override the configs\' iteration count')
    parser.add_argument('--data-root', default=None,
                        help='toy benchmark root (default: the cache folder)')
    parser.add_argument('--work-dir', default=None,
                        help='keep logs/checkpoints here (default: a temporary '
                        'folder that is deleted)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument('--out', default=None,
                        help='also write the markdown table to this file')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f'--seeds must be >= 1, got {args.seeds}')
    if args.max_iters is not None and args.max_iters < 1:
        parser.error(f'--max-iters must be >= 1, got {args.max_iters}')
    return args


def build_cfg(config: str, seed: int, work_dir: str,
              max_iters: Optional[int] = None,
              data_root: Optional[str] = None):
    """Load a toy config and adapt it for one benchmark run."""
    from mmengine.config import Config
    path = config if osp.isabs(config) else osp.join(REPO, config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=seed)
    cfg.experiment_name = (f'{osp.splitext(osp.basename(path))[0]}_seed{seed}'
                           f'_{time.strftime("%Y%m%d_%H%M%S")}_{os.getpid()}')
    if max_iters is not None:
        cfg.train_cfg.max_iters = max_iters
        cfg.train_cfg.val_interval = max_iters
        for sched in cfg.param_scheduler:
            sched['end'] = min(sched.get('end', max_iters), max_iters)
        cfg.default_hooks.checkpoint.interval = max_iters
    # only the final validation matters (run_one calls it once after
    # training; IterBasedTrainLoop would also validate at the last iteration)
    cfg.train_cfg.val_begin = cfg.train_cfg.max_iters + 1
    # checkpoints are not needed
    cfg.default_hooks.checkpoint.save_last = False
    cfg.default_hooks.checkpoint.interval = cfg.train_cfg.max_iters + 1
    cfg.default_hooks.logger.interval = 100
    if data_root is not None:
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].dataset.data_root = data_root
    return cfg


def run_one(config: str, seed: int, work_dir: str,
            max_iters: Optional[int] = None,
            data_root: Optional[str] = None) -> float:
    """Train one config with one seed; return the final val mIoU (%)."""
    from mmengine.runner import Runner
    cfg = build_cfg(config, seed, work_dir, max_iters, data_root)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    if 'mIoU' not in metrics:
        raise KeyError(f'{config}: the validation returned {metrics}, '
                       'expected an mIoU entry (IoUMetric)')
    return float(metrics['mIoU'])


def _fmt(values: List[float]) -> str:
    if len(values) == 1:
        return f'{values[0]:.1f}'
    return f'{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f}'


def make_table(results: Dict[str, Dict[str, List[float]]]) -> str:
    """Markdown table of {task: {'source-only': [...], 'oracle': [...]}}."""
    lines = [
        '| task (train → eval) | seeds | source-only mIoU | oracle mIoU | '
        'source-only / oracle | per-seed (source-only; oracle) |',
        '|---|---|---|---|---|---|',
    ]
    for task, res in results.items():
        so, orc = res['source-only'], res['oracle']
        ratio = np.mean(so) / np.mean(orc) if np.mean(orc) > 0 else float('nan')
        per_seed = (', '.join(f'{v:.1f}' for v in so) + '; ' +
                    ', '.join(f'{v:.1f}' for v in orc))
        lines.append(f'| source → {task} | {len(so)} | {_fmt(so)} | '
                     f'{_fmt(orc)} | {ratio:.2f} | {per_seed} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    import mmda  # noqa: F401  (registers mmseg and mmda modules)

    tmp = None
    work_root = args.work_dir
    if work_root is None:
        tmp = tempfile.TemporaryDirectory(prefix='mmda_toy_bench_')
        work_root = tmp.name
    results: Dict[str, Dict[str, List[float]]] = {}
    start = time.time()
    try:
        for task in args.tasks:
            results[task] = {}
            for setting, config in zip(('source-only', 'oracle'), TASKS[task]):
                scores = []
                for seed in range(args.seeds):
                    wd = osp.join(work_root, f'{task}_{setting}_seed{seed}')
                    t0 = time.time()
                    miou = run_one(config, seed, wd, args.max_iters,
                                   args.data_root)
                    scores.append(miou)
                    print(f'[toy benchmark] {task} {setting} seed {seed}: '
                          f'mIoU {miou:.2f} ({time.time() - t0:.0f} s)',
                          flush=True)
                results[task][setting] = scores
    finally:
        if tmp is not None:
            tmp.cleanup()
    table = make_table(results)
    print(f'\nToy benchmark calibration ({time.time() - start:.0f} s):\n')
    print(table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    return results


if __name__ == '__main__':
    main()
