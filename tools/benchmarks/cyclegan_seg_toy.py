#!/usr/bin/env python
"""CycleGAN with and without the feature loss, judged by segmentation.

The shape of Table 1 of Scherer et al. (2021), rows "Baseline - Daytime",
"CycleGAN - Day2Night (CS)" and "CycleGAN + FL - Day2Night (CS)", on the
embedded toy benchmark (toy "source" = day, toy "night"):

1. two toy CycleGANs are trained on unpaired day / night images
   (``configs/cyclegan/toy_day2night.py``), one with the feature loss
   (``VGGFeatureLoss``) and one without (``feature_loss=None``), same seed
   and schedule;
2. for every seed, the tiny DeepLab is trained on the labelled day images
   (``configs/mean_teacher/toy_source_only.py``, the baseline) and on their
   translations by each EMA generator, applied on the fly through
   ``Day2NightTranslator`` (``toy_translated_only.py``); all are evaluated
   (teacher) on day val and night val in one ``MultiDomainValLoop``.

The feature network: torchvision-VGG19 ImageNet weights cannot be
downloaded here, so by default the benchmark first trains the toy VGG stack
of the toy config (16-16-pool-32-32) with a 1x1 classifier on the labelled
day images (``--feature-net pretrained``, a stand-in for ImageNet
pre-training: features that know about the scene's classes) and passes it
to ``VGGFeatureLoss`` as ``vgg_checkpoint`` in torchvision layout;
``--feature-net random`` keeps the random init of the toy config.

Finished pieces are kept in the work dir (``gan_*/``, ``results.jsonl``)
and reused, so an interrupted benchmark continues.

Usage::

    python tools/benchmarks/cyclegan_seg_toy.py [--seeds 3] [--gan-iters 2000]
        [--seg-iters 600] [--feature-net pretrained|random]
        [--work-dir work_dirs/bench_cyclegan_seg_toy] [--out summary.json]
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.benchmarks import harness  # noqa: E402
GAN_CONFIG = osp.join(ROOT, 'configs', 'cyclegan', 'toy_day2night.py')
ROWS = ('baseline', 'cyclegan', 'cyclegan_fl')
LABELS = dict(baseline='Baseline - Daytime',
              cyclegan='CycleGAN - Day2Night',
              cyclegan_fl='CycleGAN + FL - Day2Night')


def _mean_teacher_toy():
    """tools/benchmarks/mean_teacher_toy.py (make_cfg, run_one)."""
    from tools.benchmarks import mean_teacher_toy
    return mean_teacher_toy


def pretrain_feature_net(arch, work_dir: str, iters: int, seed: int,
                         knobs=None) -> str:
    """Train ``arch`` (a VGG cfg) + 1x1 classifier on the labelled toy day
    images; save its ``features.*`` in torchvision layout; return the path."""
    import torch
    import torch.nn.functional as F

    from mmda.datasets.toy import ToySegDataset
    from mmda.models.losses.vgg_feature_loss import (IMAGENET_MEAN_01,
                                                     IMAGENET_STD_01,
                                                     make_vgg_layers)
    # named by what makes it, so another arch/length/seed is not reused
    tag = '-'.join(str(a) for a in arch)
    path = osp.join(work_dir, 'feature_net',
                    f'toy_vgg_{tag}_it{iters}_seed{seed}.pth')
    if osp.isfile(path):
        return path
    import cv2
    ds = ToySegDataset(domain='source', split='train', pipeline=[],
                       **(knobs or {}))
    imgs, labels = [], []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        imgs.append(cv2.imread(info['img_path'])[..., ::-1])
        labels.append(cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED))
    x = torch.from_numpy(np.stack(imgs).copy()).permute(0, 3, 1, 2).float()
    x = (x / 255 - torch.tensor(IMAGENET_MEAN_01).view(1, 3, 1, 1)) / \
        torch.tensor(IMAGENET_STD_01).view(1, 3, 1, 1)
    y = torch.from_numpy(np.stack(labels).astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    features = make_vgg_layers(tuple(arch))
    out_ch = [a for a in arch if a != 'M'][-1]
    head = torch.nn.Conv2d(out_ch, 19, 1)
    params = list(features.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    for it in range(iters):
        idx = torch.randint(0, len(x), (8, ), generator=g)
        logits = head(features(x[idx]))
        logits = F.interpolate(logits, size=y.shape[-2:], mode='bilinear',
                               align_corners=False)
        loss = F.cross_entropy(logits, y[idx], ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
    import io

    from mmengine.fileio import put
    state = {f'features.{k}': v for k, v in features.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    put(buf.getvalue(), path)  # atomic (mmda's local backend), makes dirs
    print(f'[cyclegan_seg_toy] feature net: {iters} iterations on labelled '
          f'day images, last CE {float(loss.detach()):.3f} -> {path}', flush=True)
    return path


def gan_cfg(variant: str, work_dir: str, iters: int, seed: int,
            vgg_checkpoint=None, feature_weight=None, knobs=None):
    """Config of the toy CycleGAN with (``cyclegan_fl``) or without the
    feature loss (``feature_weight``: lambda_feature, default the
    config's); ``knobs``: the dataset knobs of a toy variant
    (``tools/benchmarks/harness.py``; ``work_dir`` should then be the
    variant's own)."""
    from mmengine.config import Config
    cfg = Config.fromfile(GAN_CONFIG)
    harness.apply_variant(cfg, knobs or {})
    name = f'gan_{variant}'
    if variant == 'cyclegan':
        cfg.model.feature_loss = None
    else:
        if vgg_checkpoint is not None:
            cfg.model.feature_loss.vgg_checkpoint = vgg_checkpoint
        if feature_weight is not None:
            cfg.model.feature_loss.loss_weight = float(feature_weight)
        name += f'_w{cfg.model.feature_loss.loss_weight:g}'
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = f'cyclegan_seg_toy_{name}'
    cfg.randomness = dict(seed=seed)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler = [
        dict(type='MultiStepLR', milestones=[int(iters * 0.75)], gamma=0.5,
             by_epoch=False, begin=0, end=iters)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=iters,
        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=max(iters // 10, 1),
        log_metric_by_epoch=False)
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.num_workers = 0
        dl.persistent_workers = False
    return cfg


def train_gan(cfg) -> str:
    from mmengine.runner import Runner
    ckpt = osp.join(cfg.work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    if not osp.isfile(ckpt):
        Runner.from_cfg(cfg).train()
    return ckpt


def seg_cfg(mt, row: str, seed: int, work_dir: str, iters, gan: dict,
            knobs=None):
    if row == 'baseline':
        return mt.make_cfg('source_only', seed, work_dir, iters,
                           knobs=knobs)
    translator = dict(type='Day2NightTranslator',
                      generator=gan[row]['generator'],
                      checkpoint=gan[row]['ckpt'])
    cfg = mt.make_cfg('translated_only', seed, work_dir, iters, knobs=knobs)
    cfg.model.translator = translator
    cfg.work_dir = osp.join(work_dir, f'{row}_seed{seed}')
    return cfg


def summarize(records: List[dict]) -> dict:
    out = {}
    for row in ROWS:
        runs = [r for r in records if r['row'] == row]
        if runs:
            out[row] = {
                d: dict(mean=float(np.mean([r[d] for r in runs])),
                        std=float(np.std([r[d] for r in runs])),
                        runs=[r[d] for r in runs])
                for d in ('day', 'night')
            }
    if 'cyclegan' in out and 'cyclegan_fl' in out and 'baseline' in out:
        base = out['baseline']['day']['mean']
        out['day_loss'] = dict(
            cyclegan=base - out['cyclegan']['day']['mean'],
            cyclegan_fl=base - out['cyclegan_fl']['day']['mean'])
        out['fl_keeps_day'] = bool(
            out['day_loss']['cyclegan_fl'] <= out['day_loss']['cyclegan'])
    return out


def format_table(summary: dict, args) -> str:
    lines = [
        f'Toy day -> night, segmentation trained on day images or their '
        f'CycleGAN translations ({args.seeds} seed(s), {args.gan_iters} '
        f'CycleGAN iterations, {args.seg_iters or 600} segmentation '
        f'iterations, feature net: {args.feature_net}, lambda_feature '
        f'{summary.get("feature_weight", "?")}; teacher evaluated, '
        'mIoU mean ± std)', '',
        '| row (paper Table 1) | day mIoU | night mIoU |', '|---|---|---|'
    ]
    for row in ROWS:
        if row in summary:
            s = summary[row]
            lines.append(f'| {LABELS[row]} | {s["day"]["mean"]:.2f} ± '
                         f'{s["day"]["std"]:.2f} | {s["night"]["mean"]:.2f} '
                         f'± {s["night"]["std"]:.2f} |')
    if 'day_loss' in summary:
        d = summary['day_loss']
        lines += ['', f'day mIoU lost against the baseline: CycleGAN '
                  f'{d["cyclegan"]:.2f}, CycleGAN + FL {d["cyclegan_fl"]:.2f}'
                  f' (feature loss keeps at least as much day mIoU: '
                  f'{summary["fl_keeps_day"]})']
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--gan-seed', type=int, default=0)
    p.add_argument('--gan-iters', type=int, default=2000)
    p.add_argument('--seg-iters', type=int, default=None,
                   help='segmentation iterations (default: the toy config)')
    p.add_argument('--feature-net', choices=('pretrained', 'random'),
                   default='pretrained')
    p.add_argument('--feature-iters', type=int, default=300,
                   help='iterations of the feature-net pre-training')
    p.add_argument('--feature-weight', type=float, default=None,
                   help='lambda_feature of the FL CycleGAN (default: the '
                   'toy config\'s)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--variants', nargs='+', default=None, metavar='VARIANT',
                   help='toy variants (tools/benchmarks/harness.py: names, '
                   'night-sweep, or name:key=value,...); each gets its own '
                   'CycleGANs and rows in {work_dir}/{variant}/; default: '
                   'the calibrated toy')
    p.add_argument('--work-dir',
                   default=osp.join('work_dirs', 'bench_cyclegan_seg_toy'))
    p.add_argument('--out', default=None, help='write a JSON summary')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(max(1, args.threads))
    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    variants = harness.resolve_variants(args.variants)
    summaries, texts = {}, []
    for vname, knobs in variants:
        work_dir = args.work_dir if vname == 'calibrated' else \
            osp.join(args.work_dir, vname)
        summary = run_variant(args, work_dir, knobs)
        summaries[vname] = summary
        table = format_table(summary, args)
        texts.append(table if vname == 'calibrated' and len(variants) == 1
                     else f'Variant {vname}:\n\n{table}')
    print('\n\n'.join(texts))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        first = summaries.get('calibrated', next(iter(summaries.values())))
        with open(args.out, 'w') as f:
            json.dump(dict(summary=first, variants=summaries,
                           config=vars(args)), f, indent=2)
    return 0


def run_variant(args, work_dir: str, knobs: dict) -> dict:
    """CycleGANs and segmentation rows of one toy variant in ``work_dir``
    (finished pieces reused); returns the summary."""
    mt = _mean_teacher_toy()
    t0 = time.time()
    vgg = None
    if args.feature_net == 'pretrained':
        # trained on the labelled day (source) images, which no variant
        # knob changes except the scene seed: shared unless that differs
        from mmengine.config import Config
        arch = Config.fromfile(GAN_CONFIG).model.feature_loss.arch
        vgg = pretrain_feature_net(arch, work_dir, args.feature_iters,
                                   args.gan_seed, knobs)
    gan = {}
    for variant in ('cyclegan', 'cyclegan_fl'):
        cfg = gan_cfg(variant, work_dir, args.gan_iters, args.gan_seed,
                      vgg, args.feature_weight, knobs)
        gan[variant] = dict(ckpt=train_gan(cfg),
                            generator=cfg.model.generator.to_dict())
        print(f'[cyclegan_seg_toy] {variant}: {gan[variant]["ckpt"]} '
              f'({time.time() - t0:.0f} s)', flush=True)
    log = osp.join(work_dir, 'results.jsonl')
    records = []
    if osp.isfile(log):
        with open(log) as f:
            records = [json.loads(line) for line in f if line.strip()]
    key = (args.gan_iters, args.seg_iters, args.feature_net)
    fl_weight = float(gan_cfg('cyclegan_fl', work_dir, args.gan_iters,
                              args.gan_seed, vgg, args.feature_weight)
                      .model.feature_loss.loss_weight)
    fl_key = list(key) + [fl_weight]

    def row_key(row):  # only the FL row depends on lambda_feature
        return fl_key if row == 'cyclegan_fl' else list(key)

    records = [r for r in records if r['key'] == row_key(r['row'])]
    done = {(r['row'], r['seed']) for r in records}
    for seed in range(args.seeds):
        for row in ROWS:
            if (row, seed) in done:
                continue
            res = mt.run_one(seg_cfg(mt, row, seed, work_dir,
                                     args.seg_iters, gan, knobs))
            rec = dict(row=row, seed=seed, key=row_key(row), **res)
            records.append(rec)
            os.makedirs(work_dir, exist_ok=True)
            with open(log, 'a') as f:
                f.write(json.dumps(rec) + '\n')
            print(f'[cyclegan_seg_toy] seed {seed} {row}: day mIoU '
                  f'{res["day"]:.2f}, night mIoU {res["night"]:.2f} '
                  f'({time.time() - t0:.0f} s)', flush=True)
    summary = summarize([r for r in records if r['seed'] < args.seeds])
    summary['feature_weight'] = fl_weight
    return summary


if __name__ == '__main__':
    sys.exit(main())
