"""Train the toy day->night CycleGAN and measure what it learned.

Trains ``configs/cyclegan/toy_day2night.py`` through mmengine's Runner in a
work dir, then translates the toy *source* val images with the EMA generator
and prints a markdown table comparing image statistics of day, translated
day->night and real night images (mean brightness, per-channel means,
noise level) plus the cycle reconstruction error.

Example::

    python tools/benchmarks/cyclegan_toy.py --iters 2000 --work-dir \
        work_dirs/cyclegan_toy
"""
import argparse
import os
import os.path as osp
import time

import numpy as np
import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=osp.join(
        osp.dirname(__file__), '..', '..', 'configs', 'cyclegan',
        'toy_day2night.py'))
    p.add_argument('--work-dir', default='work_dirs/cyclegan_toy_bench')
    p.add_argument('--iters', type=int, default=None,
                   help='override max_iters (default: the config)')
    p.add_argument('--workers', type=int, default=None,
                   help='override dataloader num_workers')
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads (default: torch default)')
    p.add_argument('--skip-train', action='store_true',
                   help='only evaluate the last checkpoint in --work-dir')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def image_stats(imgs: torch.Tensor) -> dict:
    """imgs (N, 3, H, W) RGB in [-1, 1] -> statistics on 0..255."""
    x = (imgs.clamp(-1, 1) + 1) * 127.5
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    # high-frequency energy: mean |x - 3x3 box blur(x)|
    blur = torch.nn.functional.avg_pool2d(x, 3, 1, 1,
                                          count_include_pad=False)
    return dict(brightness=float(luma.mean()),
                r=float(x[:, 0].mean()), g=float(x[:, 1].mean()),
                b=float(x[:, 2].mean()),
                hf=float((x - blur).abs().mean()))


def load_split(domain: str, split: str = 'val') -> torch.Tensor:
    import cv2

    from mmda.datasets.toy import ToySegDataset
    ds = ToySegDataset(domain=domain, split=split, pipeline=[])
    imgs = [cv2.imread(ds.get_data_info(i)['img_path'])[..., ::-1]
            for i in range(len(ds))]
    x = torch.from_numpy(np.stack(imgs).copy()).permute(0, 3, 1, 2)
    return x.float() / 127.5 - 1


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.config import Config
    from mmengine.runner import Runner, find_latest_checkpoint

    import mmda  # noqa: F401
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed)
    if args.iters is not None:
        cfg.train_cfg.max_iters = args.iters
        cfg.train_cfg.val_interval = max(1, args.iters // 4)
        cfg.default_hooks.checkpoint.interval = max(1, args.iters // 4)
        cfg.param_scheduler = [
            dict(type='MultiStepLR', milestones=[int(args.iters * 0.75)],
                 gamma=0.5, by_epoch=False)
        ]
    if args.workers is not None:
        for dl in (cfg.train_dataloader, cfg.val_dataloader):
            dl.num_workers = args.workers
            dl.persistent_workers = args.workers > 0
    t0 = time.time()
    runner = Runner.from_cfg(cfg)
    if not args.skip_train:
        runner.train()
    else:
        ckpt = find_latest_checkpoint(args.work_dir)
        if ckpt is None:
            raise SystemExit(f'no checkpoint in {args.work_dir!r}')
        runner.load_checkpoint(ckpt)
    train_time = time.time() - t0
    model = runner.model.module if hasattr(runner.model,
                                           'module') else runner.model
    model.eval()
    day, night = load_split('source'), load_split('night')
    with torch.no_grad():
        fake_night = torch.cat([model.translate(day[i:i + 16], 'a2b')
                                for i in range(0, len(day), 16)])
        rec_day = torch.cat([model.translate(fake_night[i:i + 16], 'b2a')
                             for i in range(0, len(day), 16)])
    rows = [('toy source (day), val', image_stats(day)),
            ('day -> night (EMA G_ab)', image_stats(fake_night)),
            ('toy night, val', image_stats(night))]
    print(f'\ntrained {cfg.train_cfg.max_iters} iterations in '
          f'{train_time / 60:.1f} min\n')
    print('| images | brightness | R | G | B | high-freq |')
    print('|---|---|---|---|---|---|')
    for name, s in rows:
        print(f"| {name} | {s['brightness']:.1f} | {s['r']:.1f} | "
              f"{s['g']:.1f} | {s['b']:.1f} | {s['hf']:.2f} |")
    cyc = float(((rec_day - day).abs() * 127.5).mean())
    print(f'\ncycle L1 (day -> night -> day), 0..255: {cyc:.2f}')
    out = osp.join(args.work_dir, 'translated_val_examples.png')
    import cv2
    grid = torch.cat([day[:6], fake_night[:6], night[:6]])
    grid = ((grid.clamp(-1, 1) + 1) * 127.5).byte().permute(0, 2, 3,
                                                           1).numpy()
    rows_img = [np.concatenate(list(grid[i * 6:(i + 1) * 6]), axis=1)
                for i in range(3)]
    os.makedirs(args.work_dir, exist_ok=True)
    cv2.imwrite(out, np.concatenate(rows_img, axis=0)[..., ::-1])
    print(f'examples (rows: day, day->night, real night): {out}')


if __name__ == '__main__':
    main()
