#!/usr/bin/env python
"""Cost of a DACS training iteration relative to a source-only iteration.

Same model, batch and crop, in one run:

* time: median wall time of ``--iters`` training steps (after ``--warmup``)
  of DACS (source loss, teacher pseudo-labels, ClassMix, strong
  augmentation, mixed loss, one optimizer step and the EMA teacher update)
  and of the source-only :class:`BaseUDASegmentor` step;
* peak memory of one step: ``torch.cuda.max_memory_allocated`` on GPU; on
  CPU the increase of the peak resident memory (Linux ``VmHWM``, reset
  through ``/proc/self/clear_refs`` after a warm-up step) over the resident
  memory before the step, in a fresh subprocess per method (the CPU
  allocator has no peak counter);
* the share of the DACS step spent in mixing, strong augmentation and the
  EMA update (and the other parts), from ``torch.profiler`` over the
  ``record_function`` scopes of :class:`DACS`.

Usage::

    python tools/benchmarks/dacs_cost.py [--config configs/dacs/toy_dacs.py]
        [--batch 2] [--crop 64 128] [--iters 10] [--device cpu]
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'dacs', 'toy_dacs.py')
PARTS = ('dacs.source', 'dacs.pseudo_label', 'dacs.mix', 'dacs.strong_aug',
         'dacs.mix_loss', 'dacs.mix_backward', 'ema_update')


def build_models(config: str, crop, device: str):
    """DACS from ``config`` and a source-only model with the same weights."""
    import torch
    from mmengine.config import Config

    from mmda.registry import MODELS
    cfg = Config.fromfile(config)
    mcfg = cfg.model.to_dict()
    seg = mcfg['segmentor']
    if seg.get('data_preprocessor') is not None:
        seg['data_preprocessor']['size'] = tuple(crop)
    if mcfg.get('data_preprocessor') is not None:
        mcfg['data_preprocessor']['size'] = tuple(crop)
    # no pretrained weights are needed to measure the cost
    seg.get('backbone', {}).pop('init_cfg', None)
    dacs = MODELS.build(mcfg)
    dacs.init_weights()
    src = MODELS.build(dict(type='BaseUDASegmentor',
                            segmentor=copy.deepcopy(seg),
                            data_preprocessor=mcfg.get('data_preprocessor')))
    src.student.load_state_dict(dacs.student.state_dict())
    ema_alpha = 0.99
    for h in cfg.get('custom_hooks', []):
        if h.get('type') == 'EMATeacherHook':
            ema_alpha = h.get('alpha', ema_alpha)
    return dacs.to(device).train(), src.to(device).train(), ema_alpha


def make_batch(batch: int, crop, num_classes: int, seed: int = 0):
    """Random images and block-structured labels (several classes)."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    h, w = crop

    def label():
        coarse = torch.randint(0, min(num_classes, 8), (4, 8), generator=g)
        return torch.nn.functional.interpolate(
            coarse[None, None].float(), size=(h, w),
            mode='nearest')[0].long()

    def samples(with_label):
        out = []
        for _ in range(batch):
            s = SegDataSample()
            if with_label:
                s.gt_sem_seg = PixelData(data=label())
            out.append(s)
        return out

    def imgs():
        return [torch.randint(0, 256, (3, h, w), generator=g,
                              dtype=torch.uint8) for _ in range(batch)]

    return dict(inputs=imgs(), data_samples=samples(True),
                target_inputs=imgs(), target_data_samples=samples(False))


def make_step(model, ema_alpha=None, lr=1e-3):
    import torch
    from mmengine.optim import OptimWrapper
    from torch.profiler import record_function

    from mmda.models.uda.ema import ema_update
    params = [p for p in model.parameters() if p.requires_grad]
    ow = OptimWrapper(torch.optim.SGD(params, lr=lr, momentum=0.9))

    def step(batch):
        out = model.train_step(copy.deepcopy(batch), ow)
        if ema_alpha is not None and model.teacher is not None:
            with record_function('ema_update'):
                ema_update(model.teacher, model.student, ema_alpha,
                           int(model.ema_step))
                model.ema_step += 1
        return out

    return step


def _sync(device):
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_steps(step, batch, iters, warmup, device):
    for _ in range(warmup):
        step(batch)
    times = []
    for _ in range(iters):
        _sync(device)
        t = time.perf_counter()
        step(batch)
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def profile_parts(step, batch, iters, device):
    """Inclusive time of each ``record_function`` scope / step time."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function
    acts = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        acts.append(ProfilerActivity.CUDA)
    with profile(activities=acts) as prof:
        for _ in range(iters):
            with record_function('step'):
                step(batch)
    totals = {}
    for evt in prof.key_averages():
        if evt.key in PARTS + ('step', ):
            totals[evt.key] = evt.cpu_time_total
    step_total = totals.get('step', 0.0)
    return {k: totals.get(k, 0.0) / step_total for k in PARTS} \
        if step_total else {}


def memory_probe(args) -> dict:
    """Run in a subprocess: peak memory increase of one step of a method."""
    import torch
    dacs, src, alpha = build_models(args.config, args.crop, args.device)
    if args.memory_probe == 'dacs':
        model = dacs
        del src
    else:
        model = src
        del dacs
    batch = make_batch(args.batch, args.crop, model.num_classes)
    step = make_step(model, alpha if args.memory_probe == 'dacs' else None)
    if args.device.startswith('cuda'):
        step(batch)  # optimizer state allocated on the first step
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(batch)
        torch.cuda.synchronize()
        return dict(peak_bytes=torch.cuda.max_memory_allocated() - base)
    # CPU: reset the kernel's peak-RSS mark (VmHWM) after a warm-up step
    # (optimizer state allocated) and read it after one more step.
    step(batch)
    _trim()
    base = _status_kib('VmRSS')
    _reset_peak_rss()
    step(batch)
    peak = _status_kib('VmHWM')
    return dict(peak_bytes=max(peak - base, 0) * 1024)


def _status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{key} not in /proc/self/status (Linux only)')


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0, clear_refs 5)."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def _trim() -> None:
    """Return freed heap memory to the OS so RSS measures live memory."""
    import ctypes
    import gc
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except OSError:  # not glibc
        pass


def measure_memory(args, method: str) -> float:
    cmd = [sys.executable, osp.abspath(__file__), '--config', args.config,
           '--batch', str(args.batch), '--crop', str(args.crop[0]),
           str(args.crop[1]), '--device', args.device,
           '--threads', str(args.threads), '--memory-probe', method]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         cwd=ROOT)
    line = [x for x in out.stdout.splitlines() if x.startswith('{')][-1]
    return json.loads(line)['peak_bytes']


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--crop', type=int, nargs=2, default=(64, 128),
                   metavar=('H', 'W'))
    p.add_argument('--iters', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--no-memory', action='store_true')
    p.add_argument('--out', default=None, help='write a JSON summary')
    p.add_argument('--memory-probe', choices=['dacs', 'source_only'],
                   default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(args.threads)
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    if args.memory_probe:
        print(json.dumps(memory_probe(args)))
        return 0

    dacs, src, alpha = build_models(args.config, args.crop, args.device)
    batch = make_batch(args.batch, args.crop, dacs.num_classes)
    dacs_step = make_step(dacs, alpha)
    src_step = make_step(src)
    t_src, _ = time_steps(src_step, batch, args.iters, args.warmup,
                          args.device)
    t_dacs, _ = time_steps(dacs_step, batch, args.iters, args.warmup,
                           args.device)
    shares = profile_parts(dacs_step, batch, max(args.iters // 2, 2),
                           args.device)
    result = dict(
        config=osp.relpath(args.config, ROOT), batch=args.batch,
        crop=list(args.crop), device=args.device, threads=args.threads,
        time_source_only_s=t_src, time_dacs_s=t_dacs,
        time_ratio=t_dacs / t_src, shares=shares)
    if not args.no_memory:
        m_src = measure_memory(args, 'source_only')
        m_dacs = measure_memory(args, 'dacs')
        result.update(mem_source_only_bytes=m_src, mem_dacs_bytes=m_dacs,
                      mem_ratio=m_dacs / m_src if m_src > 0 else
                      float('nan'))

    print(f'DACS cost, {result["config"]}, batch {args.batch}, crop '
          f'{args.crop[0]}x{args.crop[1]}, {args.device} '
          f'({args.threads} thread(s))')
    print(f'  time / iteration: source-only {t_src * 1e3:.1f} ms, DACS '
          f'{t_dacs * 1e3:.1f} ms -> x{result["time_ratio"]:.2f}')
    if 'mem_ratio' in result:
        print(f'  peak memory of a step: source-only '
              f'{result["mem_source_only_bytes"] / 2**20:.1f} MiB, DACS '
              f'{result["mem_dacs_bytes"] / 2**20:.1f} MiB -> '
              f'x{result["mem_ratio"]:.2f}')
    print('  share of the DACS step: ' + ', '.join(
        f'{k} {v:.1%}' for k, v in shares.items()))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
