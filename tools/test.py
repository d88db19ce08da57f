# Copyright (c) mmda contributors. Follows MMSegmentation 1.x's tools/test.py.
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmda.utils.launch import (add_runner_args, config_from_args,  # noqa: E402
                               parse_runner_args, prepare_cfg_for_device,
                               setup_cpu_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mmda test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        type=str,
        help='The directory to save output prediction for offline evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. '
        'If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--show-interval', type=int, default=1,
        help='with --show/--show-dir, paint every N-th test batch (default '
        "1: every image; mmseg's SegVisualizationHook defaults to 50, "
        'which skips every image of a test set of fewer than 50 batches)')
    parser.add_argument(
        '--tta', action='store_true', help='Test time augmentation')
    add_runner_args(
        parser, 'if specified, the evaluation metric results will be dumped '
        'into the directory as json')
    return parse_runner_args(parser, argv)


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' in default_hooks:
        visualization_hook = default_hooks['visualization']
        # Turn on visualization
        visualization_hook['draw'] = True
        visualization_hook['interval'] = args.show_interval
        if args.show:
            visualization_hook['show'] = True
            visualization_hook['wait_time'] = args.wait_time
        if args.show_dir:
            visualizer = cfg.visualizer
            visualizer['save_dir'] = args.show_dir
    else:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks. '
            'refer to usage '
            '"visualization=dict(type=\'VisualizationHook\')"')
    return cfg


def main():
    args = parse_args()

    cfg = config_from_args(
        args, required=('model', 'test_dataloader', 'test_evaluator'))
    from mmda.utils.checkpoint import check_checkpoint_file
    check_checkpoint_file(args.checkpoint)
    # files loaded when the model/dataset is built (translator, VGG)
    from mmda.utils.weights import check_weight_files
    check_weight_files(cfg, init=False)

    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    # add output_dir in metric
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    prepare_cfg_for_device(cfg)
    if args.launcher != 'none':
        setup_cpu_distributed(cfg)

    from mmda.registry import RUNNERS
    runner = RUNNERS.build(cfg)

    # start testing
    runner.test()


if __name__ == '__main__':
    main()
