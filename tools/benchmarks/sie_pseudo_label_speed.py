"""Speed of the scale-invariant-example pseudo-labels, ours vs a pixel loop.

Times the per-image work of one self-training round (Subhani & Ali, ECCV
2020; ``mmda/models/uda/sie_selection.py``,
``sie_patches.py``) on one 19x512x1024
prediction: pixel entropy, min-max normalisation per predicted class, the
selection statistics, the class-wise keep mask, and the labels of 4
scale-invariant examples (256x512 patches upsampled to 512x1024: argmax of
the bilinearly upsampled prediction, 255 where the upsampled keep mask is
exactly 0).

* ``ours``: one :func:`normalize_groups` pass (entropy, max and argmax in
  one blocked pass over the map) shared by the statistics and the keep
  mask, and :func:`upsampled_patch_labels` (no full-size upsampling of the
  19 channels; dropped cells and the keep rule per source cell);
* ``per-pixel loop``: the same algorithm with Python loops over pixels as
  the authors' code does the thresholding, with torch's ``F.interpolate``
  for the upsampling (as the authors).

Both run interleaved in one process with one thread (``--threads``): loop,
then ``--per-loop`` runs of ours, repeated ``--loop-repeats`` times; the
table gives medians and [min, max]. The upsampled images (3 channels,
``F.interpolate``) are timed separately: they are not pseudo-labels.

Two maps: ``scene`` - class regions of a segmentation-like layout (logits at
output stride 8, upsampled as the models do, mostly confident), and
``random`` - independent random logits on a 32x64 grid, a class boundary
every few pixels (the worst case of :func:`upsampled_patch_labels`, whose
exact work grows with the boundary pixels).

Usage::

    OMP_NUM_THREADS=1 python tools/benchmarks/sie_pseudo_label_speed.py \\
        [--maps scene random] [--loop-repeats 3] [--per-loop 5]
"""
import argparse
import math
import os.path as osp
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmda.models.uda.sie_patches import (  # noqa: E402
    crop_patches, sample_patch_boxes, upsampled_patch_labels)
from mmda.models.uda.sie_selection import (  # noqa: E402
    image_class_statistics, keep_mask, normalize_groups)


def make_map(kind, C, H, W, g):
    if kind == 'random':  # the previous benchmark's map
        logits = torch.randn(1, C, H // 16, W // 16, generator=g) * 4
    else:  # class regions on a 1/64 grid, logits at output stride 8
        lab = torch.randint(0, C, (1, 1, max(H // 64, 1), max(W // 64, 1)),
                            generator=g).float()
        lab = F.interpolate(lab, size=(H // 8, W // 8),
                            mode='nearest').long()[0, 0]
        logits = (F.one_hot(lab, C).permute(2, 0, 1).float() * 6 +
                  torch.randn(C, H // 8, W // 8, generator=g))[None]
    return F.interpolate(logits, size=(H, W), mode='bilinear',
                         align_corners=False)[0].softmax(0)


def ours(probs, thresholds, boxes, patch):
    c0, t0 = time.thread_time(), time.perf_counter()
    normalized = normalize_groups(probs[None])
    norm, pred, max_prob = (t[0] for t in normalized[:3])
    stats = image_class_statistics(probs[None], normalized=normalized)
    keep = keep_mask(norm, pred, thresholds)
    t1 = time.perf_counter()
    labels = upsampled_patch_labels(probs, keep, boxes, patch,
                                    top=(pred, max_prob))
    c2, t2 = time.thread_time(), time.perf_counter()
    return keep, labels, stats, (t1 - t0, t2 - t1, c2 - c0)


def images(image, boxes, patch, H, W):
    t0 = time.perf_counter()
    img = crop_patches(image.float(), boxes, *patch)
    F.interpolate(img, size=(H, W), mode='bilinear',
                  align_corners=True).round_().clamp_(0, 255).byte()
    return time.perf_counter() - t0


def per_pixel_loop(probs, thresholds, boxes, patch):
    """The same algorithm with Python loops over pixels."""
    C, H, W = probs.shape
    p = probs.permute(1, 2, 0).reshape(-1, C).tolist()
    th = thresholds.tolist()
    ent, pred, maxp = [], [], []
    for row in p:  # entropy and argmax per pixel
        e = 0.0
        best, arg = -1.0, 0
        for c, v in enumerate(row):
            if v > 0:
                e -= v * math.log(v)
            if v > best:
                best, arg = v, c
        ent.append(e)
        pred.append(arg)
        maxp.append(best)
    lo = [math.inf] * C
    hi = [-math.inf] * C
    for e, c in zip(ent, pred):  # per-class min / max
        if e < lo[c]:
            lo[c] = e
        if e > hi[c]:
            hi[c] = e
    keep = []
    sum_p = [0.0] * C
    sum_ne = [0.0] * C
    cnt = [0] * C
    for e, c, mp in zip(ent, pred, maxp):  # normalise + threshold
        span = hi[c] - lo[c]
        ne = (e - lo[c]) / span if span > 0 else 0.0
        keep.append(ne < th[c])
        sum_p[c] += mp
        sum_ne[c] += ne
        cnt[c] += 1
    keep_t = torch.tensor(keep).reshape(H, W)
    ph, pw = patch
    labels = []
    for y0, x0 in boxes.tolist():
        prob_p = probs[None, :, y0:y0 + ph, x0:x0 + pw]
        keep_p = keep_t[None, None, y0:y0 + ph, x0:x0 + pw].float()
        prob_u = F.interpolate(prob_p, size=(H, W), mode='bilinear',
                               align_corners=True)[0]
        keep_u = F.interpolate(keep_p, size=(H, W), mode='bilinear',
                               align_corners=True)[0, 0].reshape(-1).tolist()
        pu = prob_u.permute(1, 2, 0).reshape(-1, C).tolist()
        lab = []
        for row, k in zip(pu, keep_u):  # argmax / ignore per pixel
            best, arg = -1.0, 0
            for c, v in enumerate(row):
                if v > best:
                    best, arg = v, c
            lab.append(arg if k != 0 else 255)
        labels.append(torch.tensor(lab).reshape(H, W))
    return keep_t, torch.stack(labels), (sum_p, sum_ne, cnt)


def fmt(ts):
    return (f'{statistics.median(ts):.3f} [{min(ts):.3f}, {max(ts):.3f}]')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument('--width', type=int, default=1024)
    parser.add_argument('--classes', type=int, default=19)
    parser.add_argument('--patches', type=int, default=4)
    parser.add_argument('--maps', nargs='+', default=['scene', 'random'],
                        choices=['scene', 'random'])
    parser.add_argument('--loop-repeats', type=int, default=3)
    parser.add_argument('--per-loop', type=int, default=5,
                        help='runs of ours after each run of the loop')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    H, W, C = args.height, args.width, args.classes
    patch = (H // 2, W // 2)
    print(f'SIE pseudo-labels of one {C}x{H}x{W} prediction, '
          f'{args.patches} patches of {patch[0]}x{patch[1]}, '
          f'{torch.get_num_threads()} thread(s); seconds, median '
          f'[min, max] of {args.loop_repeats} loop runs and '
          f'{args.loop_repeats * args.per_loop} runs of ours, interleaved')
    print()
    print('| map | clock | per-pixel loop | ours | speed-up (median ratio '
          '[worst, best]) | ours: entropy..keep | ours: labels | images '
          '(not labels) | keep identical | labels differing |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for kind in args.maps:
        g = torch.Generator().manual_seed(0)
        probs = make_map(kind, C, H, W, g)
        image = torch.randint(0, 256, (3, H, W), dtype=torch.uint8,
                              generator=g)
        thresholds = torch.rand(C, generator=g) * 0.5 + 0.3
        boxes = sample_patch_boxes(H, W, patch[0], patch[1], args.patches,
                                   g)
        t_loop, t_ours, t_core, t_lab, t_img = [], [], [], [], []
        c_loop, c_ours = [], []
        for _ in range(args.loop_repeats):
            c0, t0 = time.thread_time(), time.perf_counter()
            keep_l, labels_l, _ = per_pixel_loop(probs, thresholds, boxes,
                                                 patch)
            t_loop.append(time.perf_counter() - t0)
            c_loop.append(time.thread_time() - c0)
            for _ in range(args.per_loop):
                keep_v, labels_v, _, (a, b, c) = ours(probs, thresholds,
                                                      boxes, patch)
                t_core.append(a)
                t_lab.append(b)
                t_ours.append(a + b)
                c_ours.append(c)
                t_img.append(images(image, boxes, patch, H, W))
        diff = int((labels_v.long() != labels_l).sum())
        for clock, lp, us in (('wall', t_loop, t_ours),
                              ('CPU', c_loop, c_ours)):
            ratios = [x / statistics.median(us) for x in lp]
            print(f'| {kind} | {clock} | {fmt(lp)} | {fmt(us)} | '
                  f'{statistics.median(lp) / statistics.median(us):.0f}x '
                  f'[{min(ratios):.0f}x, {max(ratios):.0f}x] | ' +
                  (f'{fmt(t_core)} | {fmt(t_lab)} | {fmt(t_img)} | '
                   f'{bool(torch.equal(keep_v, keep_l))} | {diff} of '
                   f'{labels_l.numel()} |' if clock == 'wall' else
                   '| | | | |'), flush=True)
    print()
    print('wall: elapsed time; CPU: this thread\'s CPU time (less sensitive '
          'to other processes on a shared machine). Labels differing: ours '
          '(float64 bilinear values) vs the loop (float32 F.interpolate); '
          'they can differ only at float32 ties.')


if __name__ == '__main__':
    main()
