# Copyright (c) mmda contributors. Follows MMSegmentation 1.x's tools/train.py.
import argparse
import logging
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.logging import print_log  # noqa: E402

from mmda.utils.launch import (add_runner_args, config_from_args,  # noqa: E402
                               parse_runner_args, setup_cpu_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor (mmda)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the latest checkpoint in the work_dir, or from '
        'the given checkpoint path')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    add_runner_args(parser, 'the dir to save logs and models')
    return parse_runner_args(parser, argv)


_AMP = {'OptimWrapper': 'AmpOptimWrapper',
        'GuardedOptimWrapper': 'GuardedAmpOptimWrapper'}


def enable_amp(cfg) -> None:
    """``--amp``: every optim wrapper of the config (one, or one per network)
    becomes an ``AmpOptimWrapper`` with dynamic loss scaling."""
    ow = cfg.optim_wrapper
    wrappers = [ow] if 'optimizer' in ow else [
        v for v in ow.values() if isinstance(v, dict) and 'optimizer' in v]
    for w in wrappers:
        t = w.get('type', 'OptimWrapper')
        if t in _AMP.values():
            print_log('AMP training is already enabled in your config.',
                      logger='current', level=logging.WARNING)
            continue
        if t not in _AMP:
            raise ValueError(
                f'--amp supports the optim wrapper types {list(_AMP)}, got '
                f'{t!r} in the config')
        w['type'] = _AMP[t]
        w.setdefault('loss_scale', 'dynamic')


def build_train_runner(args):
    """The runner of ``tools/train.py`` (config, CLI options, resume)."""
    cfg = config_from_args(args)
    # pretrained files: missing -> error naming file, key and how to get it
    from mmda.utils.weights import check_weight_files
    check_weight_files(cfg)

    # enable automatic-mixed-precision training
    if args.amp:
        enable_amp(cfg)

    # resume training
    if args.resume is not None:
        cfg.resume = True
        if args.resume != 'auto':
            cfg.load_from = args.resume
        from mmengine.runner import find_latest_checkpoint

        from mmda.utils.checkpoint import check_checkpoint_file
        ckpt = cfg.load_from or find_latest_checkpoint(cfg.work_dir)
        if ckpt is not None:
            check_checkpoint_file(ckpt)
    elif cfg.get('load_from', None):
        from mmda.utils.checkpoint import check_checkpoint_file
        check_checkpoint_file(cfg.load_from)

    # Everything else a run needs (the non-finite guard, SanityCheckHook,
    # ...) is in the config (configs/_base_/default_runtime.py), so that
    # tools/demo.py, the benchmarks and Runner.from_cfg train the same way.
    if args.launcher != 'none':
        setup_cpu_distributed(cfg)
    from mmda.utils.threads import configure_torch_threads
    print_log('torch threads: %d (%s)' % configure_torch_threads(cfg),
              logger='current')

    # mmengine's Runner, or the one named by cfg.runner_type
    from mmda.registry import RUNNERS
    return RUNNERS.build(cfg)


def main():
    runner = build_train_runner(parse_args())
    runner.train()


if __name__ == '__main__':
    main()
