#!/usr/bin/env python
"""Cost of a training step of every method relative to source-only.

All methods run in **one process, interleaved step by step** (source-only,
DACS, mean teacher, ..., source-only, DACS, ...) with one torch thread, so
that load drift on a shared machine hits every method alike; each ratio is
computed per round (method step / source-only step of the same round) and
reported as the median with its [min, max] over the rounds (100 toy
rounds by default). ``--agree`` prints the table of repeated runs' ratios
(``--json`` files) with their spread and floors.

Per method:

* step time: the CPU time of the stepping thread (``time.thread_time``)
  from ``before_train_iter`` to ``after_train_iter`` (forward/backward
  passes, optimizer steps and the method's hooks: EMA teacher, ramps; data
  loading excluded), after ``--warmup`` steps - the measure: it does not
  count the time other processes of a shared machine hold the cores - and
  the wall time over the same window, reported but load-dependent. Garbage
  is collected before every timed step and the collector is off during it;
* FLOPs: floating-point operations of the convolutions and matrix products
  of one step (``torch.utils.flop_counter``, forward + backward), as a
  ratio to source-only. It is the floor of the time ratio where the step is
  compute-bound (DeepLabV2-R101); on the toy model fixed per-step costs
  (optimizer, Python, data preprocessing) pull the time ratio towards 1,
  below the FLOP ratio;
* peak live memory: the highest total of tensor bytes allocated during one
  step and alive at the same time (``torch.profiler`` memory events;
  deterministic), as a ratio to source-only, and the live peak within each
  ``record_function`` phase of the model (``dacs.source``,
  ``dacs.mix_loss``, ...). Beside DACS's live ratio, its floor: the peak of
  a source-only step that backwards two passes into the same gradients
  (what any DACS step must hold while its mixed pass runs: the source
  gradients and a second pass's activations), plus the mixed pass's own
  inputs (:func:`floor_step`, :func:`dacs_floor_bytes`);
* RSS growth: the growth of the process' peak resident set (Linux
  ``VmHWM``, reset after returning freed memory to the system) over each
  of ``--rss-steps`` steps run after the timed ones with glibc's mmap
  threshold fixed (:func:`fix_mmap_threshold`), median [min, max] of the
  per-step ratios. It includes what is not a tensor (Python objects, the
  autograd graph, library buffers) and depends on the allocator: reported
  as information beside the live-tensor ratio;
* shares of the step's CPU time: the EMA teacher update, the mixing and
  DACS's strong augmentation (CPU time of their calls: a part this small
  can have its wall time multiplied by a single preemption), and their sum
  per round (median [min, max]).

``--model toy`` (default) trains each method's toy config through mmengine's
Runner (one Runner per method, each in its own Python thread that runs only
while it holds a baton: one step at a time). ``--model r101`` compares DACS
with source-only on DeepLabV2-ResNet101 (``configs/dacs/gta2city.py``'s
model, random weights) on random ``--crop`` images, batch ``--batch`` + the
same number of target images.

Usage::

    OMP_NUM_THREADS=1 python tools/benchmarks/cost.py [--iters 100]
        [--warmup 2] [--batch 2] [--methods source_only dacs ...]
        [--json run1.json]
    OMP_NUM_THREADS=1 python tools/benchmarks/cost.py --model r101 \\
        --crop 256 256 --batch 1 --iters 6
    python tools/benchmarks/cost.py --agree toy=run1.json,run2.json,run3.json
"""
import argparse
import copy
import ctypes
import gc
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import threading
import time
import traceback

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

# method -> (toy config, cfg-options specific to the method)
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
R101_CONFIG = 'configs/dacs/gta2city.py'
# timed rounds by default: enough for the medians of the per-round CPU-time
# ratios to repeat within a few percent on a shared 2-core machine
DEFAULT_ITERS = dict(toy=100, r101=6)
# RSS steps by default (after one settling step)
DEFAULT_RSS_STEPS = dict(toy=8, r101=3)
SCOPES = ('dacs.source', 'dacs.pseudo_label', 'dacs.mix', 'dacs.strong_aug',
          'dacs.mic', 'dacs.mix_loss', 'dacs.mix_backward',
          'mean_teacher.supervised', 'mean_teacher.teacher',
          'mean_teacher.consistency')
# bytes per target pixel of the tensors DACS's mixed pass needs on top of a
# second source pass (see floor_step): the pre-processed target image and
# the mixed image (3 x float32 each), the mixed label (int64, what
# cross-entropy takes) and the pixel weight (float32)
DACS_INPUT_BYTES_PER_PIXEL = 3 * 4 + 3 * 4 + 8 + 4


# ----------------------------------------------------------------- measures
def _status_kib(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{key} not in /proc/self/status (Linux only)')


def _libc():
    try:
        return ctypes.CDLL('libc.so.6')
    except OSError:  # not glibc
        return None


def _trim() -> None:
    """Return freed heap memory to the OS so that RSS follows live memory."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


# glibc's mallopt parameter and the threshold the RSS steps use
M_MMAP_THRESHOLD = -3
RSS_MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold(nbytes: int = RSS_MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold (by default it rises to the size of the
    largest block freed so far, up to 32 MiB, after which large tensors
    reuse heap memory that may or may not be resident: the RSS growth of a
    step then depends on the allocator's history). With the threshold
    fixed, every block of ``nbytes`` or more is mapped at allocation and
    unmapped at free, so the resident set follows the live tensors and the
    growth repeats. Set only after the timed steps (mapping every large
    tensor costs page faults). Returns whether it was set."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, nbytes))


class RssProbe:
    """Growth of the process' peak resident set (``VmHWM``) over one step,
    after freed memory was returned to the system."""

    def __init__(self):
        _trim()
        self.rss0 = _status_kib('VmRSS')
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS

    def stop(self) -> int:
        return max((_status_kib('VmHWM') - self.rss0) * 1024, 0)


class StepProbe:
    """Measure one step: live-tensor peak per phase, scope times."""

    def __init__(self):
        from torch.profiler import ProfilerActivity, profile
        _trim()
        self.prof = profile(activities=[ProfilerActivity.CPU],
                            profile_memory=True)
        self.prof.__enter__()
        self.t0 = time.perf_counter()

    def stop(self) -> dict:
        wall = time.perf_counter() - self.t0
        self.prof.__exit__(None, None, None)
        kineto = list(self.prof.profiler.kineto_results.events())
        events = sorted(
            (e.start_ns(), e.nbytes()) for e in kineto
            if e.name() == '[memory]' and e.device_type().name == 'CPU')
        spans = [(e.name(), e.start_ns(), e.end_ns()) for e in kineto
                 if e.name() in SCOPES]
        peak, phases = live_peaks(events, spans)
        scopes = {}
        for evt in self.prof.key_averages():
            if evt.key in SCOPES:
                scopes[evt.key] = evt.cpu_time_total * 1e-6 / wall
        return dict(live_peak_bytes=peak, scopes=scopes,
                    phase_peak_bytes=phases)


def live_peaks(events, spans):
    """Peak of the live-tensor total over a step and within each span.

    Args:
        events: ``(time, bytes)`` allocations (> 0) and frees (< 0), sorted
            by time; the total starts at 0 at the beginning of the step.
        spans: ``(name, start, end)`` of the ``record_function`` scopes.

    Returns:
        tuple: the step's peak and ``{name: peak within the span}`` (the
        highest total reached while the span is open, counting what earlier
        phases left alive; a repeated name keeps its highest).
    """
    live = peak = 0
    phases = {}
    for t, nbytes in events:
        live += nbytes
        peak = max(peak, live)
        for name, t0, t1 in spans:
            if t0 <= t <= t1:
                phases[name] = max(phases.get(name, 0), live)
    return peak, phases


def floor_step(model, data_batch, optim_wrapper, passes: int = 2) -> tuple:
    """The memory floor of a DACS step, run on the source-only model.

    Whatever the implementation, the DACS step holds, while its mixed pass
    runs forward and backward, the gradients of the source pass (one
    optimizer step per iteration) and the activations of a second
    forward/backward of the same network on a batch of the same size: this
    is a source-only step whose loss is backwarded ``passes`` times with
    accumulated gradients, measured here (pre-processing, forward,
    backward; no optimizer step, gradients cleared afterwards). What the
    mixed pass needs beyond it (target image, mixed image, label and
    weight) is added by :func:`dacs_floor_bytes`. Returns the shape of the
    pre-processed images.
    """
    net = getattr(model, 'student', model)
    data = model.data_preprocessor(data_batch, True)
    for _ in range(passes):
        with optim_wrapper.optim_context(model):
            losses = net.loss(data['inputs'], data['data_samples'])
        loss, _ = model.parse_losses(losses)
        optim_wrapper.backward(loss)
        del losses, loss
    optim_wrapper.zero_grad()
    return tuple(data['inputs'].shape)


def dacs_floor_bytes(two_pass_peak: int, batch: int, hw) -> int:
    """Live-memory floor of a DACS step: the two-pass source-only peak
    (:func:`floor_step`) plus the mixed pass's own inputs."""
    return int(two_pass_peak +
               DACS_INPUT_BYTES_PER_PIXEL * batch * hw[0] * hw[1])


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        fn()
    return int(fc.get_total_flops())


# -------------------------------------------------------- toy: Runner baton
class Baton:
    """Lets one thread at a time run, in a fixed round-robin order."""

    def __init__(self, order):
        self.order = list(order)
        self.turn = 0
        self.done = set()
        self.cond = threading.Condition()

    def _advance(self):
        for _ in range(len(self.order)):
            self.turn = (self.turn + 1) % len(self.order)
            if self.order[self.turn] not in self.done:
                break
        self.cond.notify_all()

    def wait(self, name):
        with self.cond:
            self.cond.wait_for(lambda: self.order[self.turn] == name)

    def pass_on(self, name):
        with self.cond:
            if self.order[self.turn] == name:
                self._advance()

    def finish(self, name):
        with self.cond:
            self.done.add(name)
            if self.order[self.turn] == name:
                self._advance()
            self.cond.notify_all()


def build_cfg(method: str, batch: int, iters: int, work_dir: str):
    from mmengine.config import Config
    config, extra = METHODS[method]
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict(extra)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'cost_{method}'
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = 10**9
    loader = cfg.get('train_dataloader')
    if loader is not None:
        loader.update(num_workers=0, persistent_workers=False)
        loader['batch_size'] = batch
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
    """Wrap ``obj.name`` to add its CPU time (of the calling thread: a part
    of the step is small enough for one preemption by another process to
    multiply its wall time) to ``bucket[0]``."""
    fn = getattr(obj, name)

    def wrapper(*args, **kwargs):
        t = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            bucket[0] += time.thread_time() - t

    setattr(obj, name, wrapper)


class _TimedCall:
    """Proxy of a callable object (DACS's ``strong_aug``) that adds the CPU
    time of its calls to ``bucket[0]``; other attributes pass through."""

    def __init__(self, obj, bucket):
        self._obj, self._bucket = obj, bucket

    def __call__(self, *args, **kwargs):
        t = time.thread_time()
        try:
            return self._obj(*args, **kwargs)
        finally:
            self._bucket[0] += time.thread_time() - t

    def __getattr__(self, name):
        return getattr(self._obj, name)


def time_model_parts(model, mix, aug):
    """Time the model's mixer (into ``mix``) and strong augmentation (into
    ``aug``); returns whether it has each."""
    mixer = getattr(model, 'mixer', None)
    if mixer is not None:
        for fn in ('generate_masks', 'mix', 'forward'):
            if callable(getattr(mixer, fn, None)):
                _timed(mixer, fn, mix)
    strong = getattr(model, 'strong_aug', None)
    # DACS's batch augmentation (the mean teacher's night augmentations are
    # modules of their own, not timed here)
    has_aug = type(strong).__name__ == 'StrongAugmentation'
    if has_aug:
        model.strong_aug = _TimedCall(strong, aug)
    return mixer is not None, has_aug


def run_toy(methods, batch, iters, warmup, rss_steps=3) -> dict:
    """Every method's Runner in a thread, stepping in turn."""
    import torch
    from mmengine.hooks import Hook
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.set_num_threads(1)
    timed_end = warmup + iters
    mem_iter, flop_iter = timed_end, timed_end + 1  # after the timing
    # RSS steps: one to settle the allocator under the fixed mmap threshold
    # (its first step reuses heap blocks freed before), then ``rss_steps``
    rss_iters = range(flop_iter + 1, flop_iter + 2 + rss_steps)
    baton = Baton(methods)
    rec = {m: dict(steps=[], cpu=[], ema=[], mix=[], aug=[], rss=[],
                   has_ema=False, has_mixer=False, has_aug=False, error=None)
           for m in methods}

    class Cost:
        """The measurements of one method, called by its two hooks."""

        def __init__(self, name):
            self.name = name
            self.ema, self.mix, self.aug = [0.0], [0.0], [0.0]

        def before_train(self, runner):
            model = runner.model
            if is_model_wrapper(model):
                model = model.module
            for h in runner.hooks:
                if type(h).__name__ == 'EMATeacherHook':
                    _timed(h, 'after_train_iter', self.ema)
                    rec[self.name]['has_ema'] = True
            r = rec[self.name]
            r['has_mixer'], r['has_aug'] = time_model_parts(
                model, self.mix, self.aug)

        def before_train_iter(self, runner):
            # this thread set up its runner or loaded this step's data
            # while holding the baton (outside the timed window): hand it on
            # and wait for this method's turn in the next round
            baton.pass_on(self.name)
            baton.wait(self.name)
            # no cyclic garbage collection inside a timed step: collect now
            gc.collect()
            gc.disable()
            self.ema0, self.mix0, self.aug0 = (self.ema[0], self.mix[0],
                                               self.aug[0])
            if runner.iter == mem_iter:
                self.probe = StepProbe()
            elif runner.iter == flop_iter:
                from torch.utils.flop_counter import FlopCounterMode
                self.flops = FlopCounterMode(display=False)
                self.flops.__enter__()
            elif runner.iter in rss_iters:
                fix_mmap_threshold()  # timing is over
                self.rss = RssProbe()
            self.c0, self.t0 = time.thread_time(), time.perf_counter()

        def after_train_iter(self, runner, data_batch):
            dt = time.perf_counter() - self.t0
            dc = time.thread_time() - self.c0
            gc.enable()
            r = rec[self.name]
            if warmup <= runner.iter < timed_end:
                r['steps'].append(dt)
                r['cpu'].append(dc)
                r['ema'].append(self.ema[0] - self.ema0)
                r['mix'].append(self.mix[0] - self.mix0)
                r['aug'].append(self.aug[0] - self.aug0)
            elif runner.iter == mem_iter:
                r.update(self.probe.stop())
                if self.name == 'source_only':
                    model = runner.model
                    if is_model_wrapper(model):
                        model = model.module
                    probe = StepProbe()
                    shape = floor_step(model, data_batch, runner.optim_wrapper)
                    r['floor_two_pass_bytes'] = probe.stop()['live_peak_bytes']
                    r['floor_live_bytes'] = dacs_floor_bytes(
                        r['floor_two_pass_bytes'], shape[0], shape[-2:])
            elif runner.iter == flop_iter:
                self.flops.__exit__(None, None, None)
                r['flops'] = int(self.flops.get_total_flops())
            elif runner.iter in rss_iters:
                growth = self.rss.stop()
                if runner.iter > rss_iters.start:
                    r['rss'].append(growth)

    class First(Hook):
        priority = 'HIGHEST'  # before the method's own hooks (ramps)

        def __init__(self, cost):
            self.cost = cost

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.cost.before_train_iter(runner)

    class Last(Hook):
        priority = 'LOWEST'  # after the method's own hooks (EMA update)

        def __init__(self, cost):
            self.cost = cost

        def before_train(self, runner):
            self.cost.before_train(runner)

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.cost.after_train_iter(runner, data_batch)

    def work(name, tmp):
        try:
            baton.wait(name)  # runners are built one at a time, in order
            cfg = build_cfg(name, batch, rss_iters.stop,
                            osp.join(tmp, name))
            runner = Runner.from_cfg(cfg)
            cost = Cost(name)
            runner.register_hook(First(cost))
            runner.register_hook(Last(cost))
            runner.train()
        except BaseException:  # reported; the other methods go on
            rec[name]['error'] = traceback.format_exc()
        finally:
            baton.finish(name)

    with tempfile.TemporaryDirectory() as tmp:
        threads = [threading.Thread(target=work, args=(m, tmp), daemon=True)
                   for m in methods]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for m in methods:
        if rec[m]['error']:
            raise RuntimeError(f'cost of {m} failed:\n{rec[m]["error"]}')
    return rec


# ---------------------------------------------------- r101: direct stepping
def build_r101(crop, seed=0):
    """DACS from the GTA->Cityscapes config and a source-only model with the
    same segmentor and weights (no pretrained weights: cost only)."""
    import torch
    from mmengine.config import Config

    from mmda.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, R101_CONFIG))
    mcfg = cfg.model.to_dict()
    seg = mcfg['segmentor']
    for d in (seg, mcfg):
        if d.get('data_preprocessor') is not None:
            d['data_preprocessor']['size'] = tuple(crop)
    seg.get('backbone', {}).pop('init_cfg', None)
    seg.get('backbone', {}).pop('pretrained', None)
    seg.pop('pretrained', None)
    torch.manual_seed(seed)
    dacs = MODELS.build(mcfg)
    src = MODELS.build(dict(type='BaseUDASegmentor',
                            segmentor=copy.deepcopy(seg),
                            data_preprocessor=mcfg.get('data_preprocessor')))
    src.student.load_state_dict(dacs.student.state_dict())
    alpha = 0.99
    for h in cfg.get('custom_hooks', []):
        if h.get('type') == 'EMATeacherHook':
            alpha = h.get('alpha', alpha)
    return dict(source_only=(src.train(), None), dacs=(dacs.train(), alpha))


def make_batch(batch: int, crop, num_classes: int, seed: int = 0):
    """Random images and block-structured labels (several classes)."""
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    h, w = crop

    def samples(with_label):
        out = []
        for _ in range(batch):
            s = SegDataSample()
            if with_label:
                coarse = torch.randint(0, min(num_classes, 8), (4, 8),
                                       generator=g)
                s.gt_sem_seg = PixelData(data=torch.nn.functional.interpolate(
                    coarse[None, None].float(), size=(h, w),
                    mode='nearest')[0].long())
            out.append(s)
        return out

    def imgs():
        return [torch.randint(0, 256, (3, h, w), generator=g,
                              dtype=torch.uint8) for _ in range(batch)]

    return dict(inputs=imgs(), data_samples=samples(True),
                target_inputs=imgs(), target_data_samples=samples(False))


def run_r101(batch, crop, iters, warmup, rss_steps=3) -> dict:
    import torch
    from mmengine.optim import OptimWrapper

    from mmda.models.uda.ema import ema_update
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(1)
    models = build_r101(crop)
    rec = {}
    steps = {}
    for name, (model, alpha) in models.items():
        params = [p for p in model.parameters() if p.requires_grad]
        ow = OptimWrapper(torch.optim.SGD(params, lr=1e-4, momentum=0.9))
        data = make_batch(batch, crop, model.num_classes)
        ema, mix, aug = [0.0], [0.0], [0.0]
        has_mixer, has_aug = time_model_parts(model, mix, aug)

        def step(model=model, ow=ow, data=data, alpha=alpha, ema=ema):
            model.train_step(copy.deepcopy(data), ow)
            if alpha is not None:
                t = time.thread_time()
                ema_update(model.teacher, model.student, alpha,
                           int(model.ema_step))
                model.ema_step += 1
                ema[0] += time.thread_time() - t

        steps[name] = (step, ema, mix, aug, model, ow, data)
        rec[name] = dict(steps=[], cpu=[], ema=[], mix=[], aug=[], rss=[],
                         has_ema=alpha is not None, has_mixer=has_mixer,
                         has_aug=has_aug)
    for i in range(warmup + iters):  # interleaved, step by step
        for name, (step, ema, mix, aug, *_) in steps.items():
            e0, m0, a0 = ema[0], mix[0], aug[0]
            gc.collect()
            gc.disable()
            c, t = time.thread_time(), time.perf_counter()
            step()
            dt = time.perf_counter() - t
            dc = time.thread_time() - c
            gc.enable()
            if i >= warmup:
                rec[name]['steps'].append(dt)
                rec[name]['cpu'].append(dc)
                rec[name]['ema'].append(ema[0] - e0)
                rec[name]['mix'].append(mix[0] - m0)
                rec[name]['aug'].append(aug[0] - a0)
    for name, (step, _, _, _, model, ow, data) in steps.items():
        probe = StepProbe()
        step()
        rec[name].update(probe.stop())
        rec[name]['flops'] = count_flops(step)
        if name == 'source_only':
            src = {k: v for k, v in data.items() if not k.startswith('target')}
            probe = StepProbe()
            shape = floor_step(model, copy.deepcopy(src), ow)
            rec[name]['floor_two_pass_bytes'] = probe.stop()['live_peak_bytes']
            rec[name]['floor_live_bytes'] = dacs_floor_bytes(
                rec[name]['floor_two_pass_bytes'], shape[0], shape[-2:])
    fix_mmap_threshold()  # timing is over
    for i in range(1 + rss_steps):  # interleaved; the first settles
        for name, (step, *_) in steps.items():
            gc.collect()
            gc.disable()
            probe = RssProbe()
            step()
            growth = probe.stop()
            gc.enable()
            if i:
                rec[name]['rss'].append(growth)
    return rec


# ------------------------------------------------------------------ report
def _med_range(values):
    return statistics.median(values), [min(values), max(values)]


def summarise(rec, base='source_only') -> list:
    """One row per method: per-round ratios to ``base`` (median, [min,
    max]), the floors beside them and the shares of the step."""
    b = rec[base]
    rows = []
    for name, r in rec.items():
        ratios = [s / t for s, t in zip(r['steps'], b['steps'])]
        cpu_ratios = [s / t for s, t in zip(r['cpu'], b['cpu'])]
        parts = {k: r.get(k) or [0.0] * len(r['steps'])
                 for k in ('ema', 'mix', 'aug')}
        total = sum(r['cpu'])  # the parts are timed in CPU time
        has = dict(ema=r['has_ema'], mix=r['has_mixer'],
                   aug=r.get('has_aug', False))
        uda = [sum(parts[k][i] for k in parts if has[k]) / c
               for i, c in enumerate(r['cpu'])]
        floor = b.get('floor_live_bytes') if name == 'dacs' else None
        base_live = b['live_peak_bytes']
        rss, base_rss = r.get('rss') or [], b.get('rss') or []
        rss_ratios = [x / y for x, y in zip(rss, base_rss) if y]
        row = dict(
            method=name,
            step_ms=1e3 * statistics.median(r['steps']),
            step_ms_range=[1e3 * min(r['steps']), 1e3 * max(r['steps'])],
            cpu_ms=1e3 * statistics.median(r['cpu']),
            cpu_ms_range=[1e3 * min(r['cpu']), 1e3 * max(r['cpu'])],
            flop_ratio=r['flops'] / b['flops'] if b['flops'] else None,
            gflops=r['flops'] / 1e9,
            live_mb=r['live_peak_bytes'] / 2**20,
            live_ratio=(r['live_peak_bytes'] / base_live
                        if base_live else None),
            live_floor_ratio=(floor / base_live
                              if floor and base_live else None),
            rss_mb=statistics.median(rss) / 2**20 if rss else None,
            rss_ratio=statistics.median(rss_ratios) if rss_ratios else None,
            rss_ratio_range=([min(rss_ratios), max(rss_ratios)]
                             if rss_ratios else None),
            ema_share=sum(parts['ema']) / total if has['ema'] else None,
            mix_share=sum(parts['mix']) / total if has['mix'] else None,
            aug_share=sum(parts['aug']) / total if has['aug'] else None,
            uda_share=(statistics.median(uda) if any(has.values())
                       else None),
            uda_share_range=[min(uda), max(uda)] if any(has.values())
            else None,
            scopes=r.get('scopes', {}),
            phase_peak_mb={k: v / 2**20 for k, v in
                           r.get('phase_peak_bytes', {}).items()},
            rounds=len(r['steps']),
            per_round=dict(cpu_s=r['cpu'], wall_s=r['steps'],
                           cpu_ratio=cpu_ratios, wall_ratio=ratios,
                           rss_bytes=rss, rss_ratio=rss_ratios))
        row['time_ratio'], row['time_ratio_range'] = _med_range(ratios)
        row['cpu_ratio'], row['cpu_ratio_range'] = _med_range(cpu_ratios)
        rows.append(row)
    return rows


def table(rows) -> str:
    def f(v, spec='.2f'):
        return '-' if v is None else format(v, spec)

    def pct(v):
        return '-' if v is None else f'{100 * v:.1f}%'

    def rng(v, r, fmt=f):
        return f'{fmt(v)} [{fmt(r[0])}, {fmt(r[1])}]'

    def ms(v):
        return format(v, '.1f')

    lines = [
        '| method | CPU time per step (ms), median [min, max] | '
        'CPU time × source-only, median [min, max] | wall time × '
        '(load-dependent) | FLOPs × (time floor) | live peak (MiB) | '
        'live × | live floor × | RSS growth (MiB) | RSS × | EMA | mixing | '
        'strong aug | EMA + mixing + aug, median [min, max] |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        rss = ('-' if r['rss_ratio'] is None else
               rng(r['rss_ratio'], r['rss_ratio_range']))
        lines.append(
            f"| {r['method']} | {rng(r['cpu_ms'], r['cpu_ms_range'], ms)} | "
            f"{rng(r['cpu_ratio'], r['cpu_ratio_range'])} | "
            f"{rng(r['time_ratio'], r['time_ratio_range'])} | "
            f"{f(r['flop_ratio'])} | {r['live_mb']:.1f} | "
            f"{f(r['live_ratio'])} | {f(r['live_floor_ratio'])} | "
            f"{f(r['rss_mb'], '.1f')} | {rss} | "
            f"{pct(r['ema_share'])} | {pct(r['mix_share'])} | "
            f"{pct(r['aug_share'])} | "
            + ('-' if r['uda_share'] is None else
               rng(r['uda_share'], r['uda_share_range'], pct)) + ' |')
    return '\n'.join(lines)


def phase_table(rows) -> str:
    """Live-tensor peak (MiB) within each ``record_function`` phase of the
    profiled step (counting what earlier phases left alive)."""
    names = [n for n in SCOPES
             if any(n in r['phase_peak_mb'] for r in rows)]
    if not names:
        return ''
    lines = ['| method | step peak | ' + ' | '.join(names) + ' |',
             '|---' * (len(names) + 2) + '|']
    for r in rows:
        if not r['phase_peak_mb']:
            continue
        lines.append(f"| {r['method']} | {r['live_mb']:.2f} | " + ' | '.join(
            '-' if n not in r['phase_peak_mb'] else
            f"{r['phase_peak_mb'][n]:.2f}" for n in names) + ' |')
    return '\n'.join(lines)


# (row key, label, floor key) of the ratios compared across runs
AGREE_RATIOS = (('cpu_ratio', 'CPU time', 'flop_ratio'),
                ('time_ratio', 'wall time (load-dependent)', 'flop_ratio'),
                ('live_ratio', 'live memory', 'live_floor_ratio'),
                ('rss_ratio', 'RSS growth', None))


def spread(values):
    """(max - min) / min of the runs' values, None if any is missing."""
    if not values or any(v is None for v in values) or min(values) <= 0:
        return None
    return (max(values) - min(values)) / min(values)


def agreement_table(groups, tolerance=0.1):
    """Markdown table of every ratio over repeated runs.

    Args:
        groups: ``{label: [rows of run 1, rows of run 2, ...]}`` (the
            ``rows`` of :func:`summarise`, e.g. from ``--json`` files), one
            group per model.
        tolerance: the spread above which a ratio is listed as disagreeing.

    Returns:
        tuple: the table and the ``(label, method, ratio, spread)`` of the
        ratios whose spread - (max - min) / min over the runs - exceeds
        ``tolerance`` or cannot be computed.
    """
    labels = list(groups)
    methods = list(dict.fromkeys(
        r['method'] for runs in groups.values() for rows in runs
        for r in rows if r['method'] != 'source_only'))
    head = ['method', 'ratio to source-only']
    for label in labels:
        head += [f'{label} run {i + 1}' for i in range(len(groups[label]))]
        head += [f'{label} spread', f'{label} floor']
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    bad = []

    def f(v):
        return '-' if v is None else f'{v:.2f}'

    for m in methods:
        for key, name, floor_key in AGREE_RATIOS:
            cells = [m, name]
            for label in labels:
                found = [next((r for r in rows if r['method'] == m), None)
                         for rows in groups[label]]
                vals = [None if r is None else r.get(key) for r in found]
                if all(r is None for r in found):
                    cells += ['-'] * (len(found) + 2)
                    continue
                sp = spread(vals)
                if sp is None or sp > tolerance:
                    bad.append((label, m, name, sp))
                floors = [r.get(floor_key) for r in found
                          if r is not None and floor_key]
                cells += [f(v) for v in vals]
                cells += ['-' if sp is None else f'{100 * sp:.0f}%',
                          f(floors[0]) if floors else '-']
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines), bad


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', choices=['toy', 'r101'], default='toy')
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=list(METHODS), help='toy methods')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--crop', type=int, nargs=2, default=(256, 256),
                   metavar=('H', 'W'), help='r101 crop')
    p.add_argument('--iters', type=int, default=None,
                   help='timed rounds (one step of every method each; '
                   f'default {DEFAULT_ITERS["toy"]} toy, '
                   f'{DEFAULT_ITERS["r101"]} r101)')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--rss-steps', type=int, default=None,
                   help='steps per method measuring RSS growth (after the '
                   'timed ones and one settling step, with a fixed mmap '
                   f'threshold; default {DEFAULT_RSS_STEPS["toy"]} toy, '
                   f'{DEFAULT_RSS_STEPS["r101"]} r101)')
    p.add_argument('--json', default=None, help='write the results here')
    p.add_argument('--agree', nargs='+', default=None,
                   metavar='LABEL=RUN1.json,RUN2.json,...',
                   help='do not measure: print the agreement table of the '
                   '--json files of repeated runs, one group per label')
    return p.parse_args(argv)


def agree_main(specs):
    groups = {}
    for spec in specs:
        label, _, files = spec.rpartition('=')
        runs = []
        for fn in files.split(','):
            with open(fn) as f:
                runs.append(json.load(f)['rows'])
        groups[label or f'group {len(groups) + 1}'] = runs
    text, bad = agreement_table(groups)
    print(text)
    print('\nspread: (max - min) / min over the runs; floor: the FLOP ratio '
          'for time, the derived floor for DACS\'s live memory')
    print('not within 10%: ' + ('none' if not bad else '; '.join(
        f'{lab} {m} {name} '
        + ('(missing)' if sp is None else f'{100 * sp:.0f}%')
        for lab, m, name, sp in bad)))
    return bad


def main(argv=None):
    args = parse_args(argv)
    if args.agree:
        return agree_main(args.agree)
    if args.iters is None:
        args.iters = DEFAULT_ITERS[args.model]
    if args.rss_steps is None:
        args.rss_steps = DEFAULT_RSS_STEPS[args.model]
    if args.iters < 1 or args.warmup < 0 or args.batch < 1:
        raise SystemExit('--iters and --batch must be >= 1, --warmup >= 0')
    if args.model == 'toy':
        methods = list(dict.fromkeys(['source_only'] + list(args.methods)))
        rec = run_toy(methods, args.batch, args.iters, args.warmup,
                      args.rss_steps)
        what = f'toy configs, batch {args.batch}'
    else:
        rec = run_r101(args.batch, args.crop, args.iters, args.warmup,
                       args.rss_steps)
        what = (f'DeepLabV2-R101 ({R101_CONFIG} model), '
                f'{args.crop[0]}x{args.crop[1]}, batch {args.batch}+'
                f'{args.batch}')
    rows = summarise(rec)
    print(f'Cost per training step, {what}; 1 thread, methods interleaved '
          f'step by step, {args.iters} rounds after {args.warmup} warm-up; '
          f'ratios: median [min, max] of the per-round ratios (RSS: of '
          f'{args.rss_steps} steps after the timed ones)')
    print('CPU time (this thread) is the measure; wall time also counts the '
          'time other processes hold the cores (load-dependent)')
    print(table(rows))
    phases = phase_table(rows)
    if phases:
        print('\nLive-tensor peak (MiB) per phase of the profiled step:')
        print(phases)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
