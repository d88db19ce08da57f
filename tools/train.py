# Copyright (c) mmda contributors. Follows MMSegmentation 1.x's tools/train.py.
import argparse
import logging
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

from mmda.utils.launch import prepare_cfg_for_device, setup_cpu_distributed  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor (mmda)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # When using PyTorch version >= 2.0.0, the `torch.distributed.launch`
    # will pass the `--local-rank` parameter to `tools/train.py` instead
    # of `--local_rank`.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()

    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)

    from mmda.utils.config import check_config, load_config
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg, args.config)
    # pretrained files: missing -> error naming file, key and how to get it
    from mmda.utils.weights import check_weight_files
    check_weight_files(cfg)
    cfg.launcher = args.launcher

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    # enable automatic-mixed-precision training
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper in ('AmpOptimWrapper', 'GuardedAmpOptimWrapper'):
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif 'optimizer' not in cfg.optim_wrapper:  # one wrapper per network
            for v in cfg.optim_wrapper.values():
                if isinstance(v, dict) and 'optimizer' in v:
                    v['type'] = 'AmpOptimWrapper'
                    v.setdefault('loss_scale', 'dynamic')
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

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

    from mmda.engine.optim_wrappers.nonfinite_guard import apply_nonfinite_guard
    apply_nonfinite_guard(cfg)
    # label/class-count checks with errors naming the file (sanity_check=False
    # in a config turns them off)
    if cfg.get('sanity_check', True):
        hooks = list(cfg.get('custom_hooks', None) or [])
        if not any(h.get('type') == 'SanityCheckHook' for h in hooks):
            hooks.append(dict(type='SanityCheckHook'))
        cfg.custom_hooks = hooks
    prepare_cfg_for_device(cfg)
    if args.launcher != 'none':
        setup_cpu_distributed(cfg)

    from mmda.engine.runner import build_runner
    runner = build_runner(cfg)

    # start training
    runner.train()


if __name__ == '__main__':
    main()
