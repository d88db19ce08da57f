"""Speed of the scale-invariant-example pseudo-labelling, ours vs a loop.

Times the per-image work of one self-training round on one 512x1024
prediction with 19 classes (METHODS.md "Scale-invariant examples"):
pixel entropy, min-max normalisation per predicted class, the class-wise
entropy threshold (keep mask), and 4 scale-invariant examples of 256x512
patches upsampled to 512x1024 with their labels and ignore pixels.

* ``vectorised``: :mod:`mmda.engine.loops.sie_pseudo_labels` (torch ops);
* ``per-pixel loop``: the same algorithm written as the authors' code does
  the thresholding - Python loops over pixels - for entropy, normalisation,
  thresholding and the patch labels (argmax / ignore per pixel). The bilinear
  upsampling of the patches is the same ``F.interpolate`` call in both (the
  authors use torch for it too).

Both produce the same keep mask and labels (checked). Usage::

    python tools/benchmarks/sie_pseudo_label_speed.py [--height 512] \
        [--width 1024]
"""
import argparse
import math
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmda.engine.loops.sie_pseudo_labels import (  # noqa: E402
    image_class_statistics, keep_mask, make_scale_invariant_examples,
    normalized_entropy, sample_patch_boxes)


def vectorised(image, probs, thresholds, boxes, patch):
    norm, pred, _ = normalized_entropy(probs[None])
    stats = image_class_statistics(probs[None])  # the selection statistics
    keep = keep_mask(norm[0], pred[0], thresholds)
    images, labels = make_scale_invariant_examples(image, probs, keep, boxes,
                                                   patch)
    return keep, labels, stats


def per_pixel_loop(image, probs, thresholds, boxes, patch):
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
        labels.append(torch.tensor(lab, dtype=torch.uint8).reshape(H, W))
        img_p = image[None, :, y0:y0 + ph, x0:x0 + pw].float()
        F.interpolate(img_p, size=(H, W), mode='bilinear', align_corners=True)
    return keep_t, torch.stack(labels), (sum_p, sum_ne, cnt)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument('--width', type=int, default=1024)
    parser.add_argument('--classes', type=int, default=19)
    parser.add_argument('--patches', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=5,
                        help='repeats of the vectorised version (median)')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    H, W, C = args.height, args.width, args.classes
    g = torch.Generator().manual_seed(0)
    # a smooth, realistic-looking prediction: low-res logits upsampled
    logits = torch.randn(1, C, H // 16, W // 16, generator=g) * 4
    probs = F.interpolate(logits, size=(H, W), mode='bilinear',
                          align_corners=False)[0].softmax(0)
    image = torch.randint(0, 256, (3, H, W), dtype=torch.uint8, generator=g)
    thresholds = torch.rand(C, generator=g) * 0.5 + 0.3
    patch = (H // 2, W // 2)
    boxes = sample_patch_boxes(H, W, patch[0], patch[1], args.patches, g)

    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        keep_v, labels_v, _ = vectorised(image, probs, thresholds, boxes,
                                         patch)
        times.append(time.perf_counter() - t0)
    t_vec = sorted(times)[len(times) // 2]
    t0 = time.perf_counter()
    keep_l, labels_l, _ = per_pixel_loop(image, probs, thresholds, boxes,
                                         patch)
    t_loop = time.perf_counter() - t0
    same_keep = bool(torch.equal(keep_v, keep_l))
    label_agree = float((labels_v == labels_l).float().mean())

    print(f'pseudo-labels of one {H}x{W} prediction, {C} classes, '
          f'{args.patches} patches of {patch[0]}x{patch[1]}, '
          f'{args.threads} thread(s)')
    print('| implementation | time (s) | speed-up |')
    print('|---|---|---|')
    print(f'| per-pixel Python loop | {t_loop:.2f} | 1.0x |')
    print(f'| vectorised torch (ours, median of {args.repeats}) | '
          f'{t_vec:.3f} | {t_loop / t_vec:.0f}x |')
    print(f'identical keep mask: {same_keep}; label agreement: '
          f'{100 * label_agree:.4f}%')


if __name__ == '__main__':
    main()
