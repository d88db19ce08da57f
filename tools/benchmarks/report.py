#!/usr/bin/env python
"""One markdown report of the toy benchmarks of every method and their cost.

Runs the per-method benchmark scripts of ``tools/benchmarks/`` (each in its
own subprocess, with its own work dir under ``--work-dir``), collects the
markdown tables they print, runs ``tools/benchmarks/cost.py`` (step time and
peak memory relative to source-only, EMA and mixing shares) and writes
everything into one file, by default ``work_dirs/benchmark_report.md``::

    python tools/benchmarks/report.py [--seeds 3] [--quick]
        [--only dacs ass ...] [--out work_dirs/benchmark_report.md]

``--quick`` runs every benchmark with a handful of iterations (a smoke test
of the whole pipeline, minutes on a CPU; the numbers are meaningless).
A benchmark that fails is reported with the tail of its error output and the
others still run. Each section records the exact command, so any table can
be reproduced on its own.
"""
import argparse
import datetime
import os
import os.path as osp
import platform
import re
import shlex
import subprocess
import sys
import time
from typing import Dict, List

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(ROOT, 'tools', 'benchmarks')


def benchmarks(seeds: int, quick: bool, work_dir: str) -> Dict[str, dict]:
    """name -> dict(title, script, args) of every per-method benchmark."""
    q = 'quick' if quick else 'full'

    def wd(name):
        return osp.join(work_dir, f'{name}_{q}')

    s = ['--seeds', str(seeds)]
    return {
        'source_only': dict(
            title='Toy calibration: source-only vs oracle',
            script='toy_source_only.py',
            args=s + (['--max-iters', '10', '--tasks', 'target']
                      if quick else [])),
        'dacs': dict(
            title='DACS (source-only / DACS / oracle, toy target)',
            script='dacs_toy.py',
            args=s + ['--work-dir', wd('dacs'),
                      '--out', osp.join(wd('dacs'), 'summary.json')] +
            (['--iters', '10'] if quick else [])),
        'mean_teacher': dict(
            title='Mean-teacher domain extension (toy day -> night)',
            script='mean_teacher_toy.py',
            args=s + ['--work-dir', wd('mean_teacher'),
                      '--out', osp.join(wd('mean_teacher'), 'summary.json')] +
            (['--iters', '10'] if quick else [])),
        'ass': dict(
            title='ASS (Table 1 shape: labelled target images)',
            script='ass_toy.py',
            args=s + ['--work-dir', wd('ass'),
                      '--out', osp.join(wd('ass'), 'summary.json')] +
            (['--iters', '10', '--counts', '10'] if quick else [])),
        'sie': dict(
            title='Scale-invariant examples (self-training rounds)',
            script='sie_toy.py',
            args=s + ['--work-dir', wd('sie'),
                      '--out', osp.join(wd('sie'), 'summary.json')] +
            (['--source-iters', '10', '--cfg-options',
              'train_cfg.max_rounds=1'] if quick else [])),
        'cyclegan': dict(
            title='CycleGAN + feature loss (toy day -> night statistics)',
            script='cyclegan_toy.py',
            args=['--work-dir', wd('cyclegan'), '--seed', '0'] +
            (['--iters', '10'] if quick else [])),
        'cyclegan_seg': dict(
            title='CycleGAN with / without feature loss, judged by '
            'segmentation (Table 1 rows)',
            script='cyclegan_seg_toy.py',
            args=s + ['--work-dir', wd('cyclegan_seg'),
                      '--out', osp.join(wd('cyclegan_seg'), 'summary.json')] +
            (['--gan-iters', '10', '--seg-iters', '10', '--feature-iters',
              '5'] if quick else [])),
    }


def markdown_tables(text: str) -> str:
    """The markdown tables of ``text`` (blocks of ``|`` lines with a
    ``|---|`` separator; mmseg's per-class log tables have none)."""
    blocks: List[List[str]] = []
    prev = False
    for line in text.splitlines():
        is_row = line.lstrip().startswith('|')
        if is_row:
            if not prev:
                blocks.append([])
            blocks[-1].append(line.strip())
        prev = is_row
    sep = re.compile(r'^\|(\s*:?-{3,}:?\s*\|)+$')
    keep = [b for b in blocks if any(sep.match(x) for x in b)]
    return '\n\n'.join('\n'.join(b) for b in keep)


def run(cmd: List[str], timeout: float) -> dict:
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = -1, e.stdout or '', f'timeout after {timeout:.0f} s'
        out = out.decode() if isinstance(out, bytes) else out
    return dict(rc=rc, stdout=out, stderr=err, seconds=time.time() - t0)


def section(title: str, cmd: List[str], res: dict) -> str:
    shown = ' '.join(shlex.quote(osp.relpath(c, ROOT) if osp.isabs(c) and
                                 c.startswith(ROOT) else c) for c in cmd[1:])
    head = [f'## {title}', '', f'`python {shown}` '
            f'({res["seconds"]:.0f} s)', '']
    if res['rc'] != 0:
        tail = (res['stderr'] or res['stdout'])[-2000:]
        return '\n'.join(head + [f'**failed** (exit code {res["rc"]}):', '',
                                 '```', tail.strip(), '```', ''])
    tables = markdown_tables(res['stdout'])
    if not tables:
        tables = '```\n' + res['stdout'].strip()[-3000:] + '\n```'
    return '\n'.join(head + [tables, ''])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--quick', action='store_true',
                   help='a few iterations per run (pipeline smoke test)')
    p.add_argument('--only', nargs='+', default=None,
                   help='benchmarks to run (default: all, and cost)')
    p.add_argument('--no-cost', action='store_true',
                   help='skip tools/benchmarks/cost.py')
    p.add_argument('--cost-iters', type=int, default=None)
    p.add_argument('--timeout', type=float, default=6 * 3600,
                   help='per benchmark, seconds')
    p.add_argument('--work-dir', default=osp.join('work_dirs',
                                                  'benchmark_report'))
    p.add_argument('--out', default=osp.join('work_dirs',
                                             'benchmark_report.md'))
    return p.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    if args.seeds < 1:
        raise SystemExit('--seeds must be >= 1')
    work_dir = osp.abspath(args.work_dir)
    benches = benchmarks(args.seeds, args.quick, work_dir)
    names = args.only or list(benches)
    unknown = [n for n in names if n not in benches and n != 'cost']
    if unknown:
        raise SystemExit(f'--only: unknown benchmark(s) {unknown}; choose '
                         f'from {sorted(benches) + ["cost"]}')
    parts = [
        '# mmda toy benchmark report', '',
        f'Generated {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC by '
        f'`python tools/benchmarks/report.py '
        f'{" ".join(argv if argv is not None else sys.argv[1:])}` on '
        f'{platform.node()} '
        f'({os.cpu_count()} CPUs, Python {platform.python_version()}).',
        '',
    ]
    if args.quick:
        parts += ['**Quick mode**: a few iterations per run; the numbers '
                  'only show that every benchmark runs.', '']
    for name in names:
        if name == 'cost':
            continue
        b = benches[name]
        cmd = [sys.executable, osp.join(BENCH, b['script'])] + b['args']
        print(f'[report] {name}: {" ".join(cmd[1:])}', file=sys.stderr,
              flush=True)
        parts.append(section(b['title'], cmd, run(cmd, args.timeout)))
    if not args.no_cost and (args.only is None or 'cost' in args.only):
        iters = args.cost_iters or (3 if args.quick else 10)
        cmd = [sys.executable, osp.join(BENCH, 'cost.py'), '--iters',
               str(iters), '--warmup', '1' if args.quick else '2',
               '--json', osp.join(work_dir, 'cost.json')]
        print('[report] cost', file=sys.stderr, flush=True)
        res = run(cmd, args.timeout)
        parts.append(section(
            'Cost of a training iteration relative to source-only', cmd,
            res))
        parts.append('Methods interleaved step by step in one process with '
                     '1 thread; ratios: median [min, max] of the per-round '
                     'ratios (hooks included, data loading excluded). CPU '
                     'time is the measure, wall time depends on the load; '
                     'memory: live-tensor peak of one step (and RSS growth, '
                     'allocator-dependent). See docs/performance.md.')
    text = '\n'.join(parts).rstrip() + '\n'
    out = osp.abspath(args.out)
    os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        f.write(text)
    print(f'[report] written to {out}', file=sys.stderr)
    return text


if __name__ == '__main__':
    main()
