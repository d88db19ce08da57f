"""Micro-benchmark of the shared UDA components on CPU.

Times, for a DACS-sized batch (default 2 x 512 x 512, 19 classes):

* the mixers (ClassMix / CutMix / CowMix: mask generation + mixing of image,
  label and weight);
* StrongAugmentation with colour jitter and blur forced on for every image
  (worst case), each alone, and with the default probabilities;
* ``ema_update`` of a teacher for DeepLabV2-ResNet101 and for the tiny toy
  model (``configs/_base_/models/deeplabv2_{r101,tiny}.py``, built without
  pretrained weights);

and prints a markdown table (median of ``--reps`` timed runs after one
warm-up run)::

    python tools/benchmarks/uda_components.py [--reps 5] [--threads 2]
"""
import argparse
import copy
import os.path as osp
import statistics
import sys
import time

import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, nargs=2, default=(512, 512),
                        metavar=('H', 'W'))
    parser.add_argument('--num-classes', type=int, default=19)
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: unchanged)')
    parser.add_argument('--skip-r101', action='store_true',
                        help='skip the DeepLabV2-ResNet101 EMA timing')
    return parser.parse_args()


def timeit(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, min(times) * 1e3


def build_segmentor(cfg_name):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmda.registry import MODELS
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', f'{cfg_name}.py'))
    cfg.model.backbone.init_cfg = None  # never download weights here
    cfg.model.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope('mmda'):
        return MODELS.build(cfg.model)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import mmda  # noqa: F401 (registers everything)
    from mmda.models.uda import (ClassMix, CowMix, CutMix, StrongAugmentation,
                                 ema_update)

    B, (H, W), C = args.batch, args.size, args.num_classes
    g = torch.Generator().manual_seed(0)
    src_img = torch.randn(B, 3, H, W, generator=g)
    tgt_img = torch.randn(B, 3, H, W, generator=g)
    # blocky label maps (16 x 16 cells) so classes form regions
    cells = torch.randint(0, C, (B, 1, H // 16 + 1, W // 16 + 1), generator=g)
    src_label = cells.repeat_interleave(16, 2).repeat_interleave(
        16, 3)[..., :H, :W].contiguous()
    tgt_label = torch.randint(0, C, (B, 1, H, W), generator=g)
    tgt_weight = torch.rand(B, 1, H, W, generator=g)

    rows = []
    shape = f'{B}x3x{H}x{W}'
    for name, mixer in (('ClassMix', ClassMix()), ('CutMix', CutMix()),
                        ('CowMix', CowMix())):
        rows.append((f'{name} masks', shape, *timeit(
            lambda m=mixer: m.generate_masks(src_label, g), args.reps)))
        rows.append((f'{name} masks + mix', shape, *timeit(
            lambda m=mixer: m(src_img, tgt_img, src_label, tgt_label, None,
                              tgt_weight, generator=g), args.reps)))

    for label, kw in (('jitter+blur (p=1)',
                       dict(color_jitter_p=1.0, blur_p=1.0)),
                      ('jitter only (p=1)',
                       dict(color_jitter_p=1.0, blur_p=0.0)),
                      ('blur only (p=1)', dict(color_jitter_p=0.0,
                                               blur_p=1.0)),
                      ('defaults (p=0.2/0.5)', dict())):
        aug = StrongAugmentation(MEAN, STD, **kw)
        rows.append((f'StrongAugmentation {label}', shape, *timeit(
            lambda a=aug: a(src_img, a.sample_params(B, g)), args.reps)))

    names = ['deeplabv2_tiny'] + ([] if args.skip_r101 else
                                  ['deeplabv2_r101'])
    for cfg_name in names:
        student = build_segmentor(cfg_name)
        teacher = copy.deepcopy(student).requires_grad_(False)
        n = sum(p.numel() for p in student.parameters())
        n_buf = sum(b.numel() for b in student.buffers())
        step = iter(range(10**9))
        rows.append((f'ema_update {cfg_name}',
                     f'{n / 1e6:.2f}M params + {n_buf / 1e3:.1f}k buf',
                     *timeit(lambda t=teacher, s=student: ema_update(
                         t, s, 0.99, next(step)), args.reps)))
        del student, teacher

    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}, '
          f'median / min of {args.reps} runs (ms)\n')
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f'| {"component":<{w0}} | {"input":<{w1}} | median ms |   min ms |')
    print(f'|{"-" * (w0 + 2)}|{"-" * (w1 + 2)}|-----------|----------|')
    for name, inp, med, mn in rows:
        print(f'| {name:<{w0}} | {inp:<{w1}} | {med:9.1f} | {mn:8.1f} |')


if __name__ == '__main__':
    main()
