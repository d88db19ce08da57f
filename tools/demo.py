"""Out-of-the-box demo: train DACS on the embedded toy benchmark and report
source and target mIoU (what ``make demo`` runs).

    python tools/demo.py [--config configs/dacs/toy_dacs.py] [--work-dir DIR]
                         [--cfg-options k=v ...]

The toy data (synthetic-day source -> textured real-day target) are generated
into ``$MMDA_DATA_ROOT/toy`` (default ``~/.cache/mmda/toy_v1``) on first use.
Training runs on the CPU in a few minutes; then the trained model is tested on
the source and the target validation splits.
"""
import argparse
import copy
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmengine.config import DictAction  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/dacs/toy_dacs.py')
    parser.add_argument('--work-dir', default='work_dirs/demo_toy_dacs')
    parser.add_argument('--domains', nargs='+', default=['source', 'target'],
                        help='toy domains to test on after training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    from mmda.engine.runner import build_runner
    from mmda.utils.config import check_config, load_config
    from mmda.utils.launch import prepare_cfg_for_device

    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg, args.config)
    cfg.work_dir = args.work_dir
    prepare_cfg_for_device(cfg)
    from mmda.utils.threads import configure_torch_threads
    print('torch threads: %d (%s)' % configure_torch_threads(cfg))

    runner = build_runner(cfg)
    runner.train()

    rows = []
    for domain in args.domains:
        loader = copy.deepcopy(cfg.test_dataloader)
        if loader.dataset.get('type') != 'ToySegDataset':
            raise ValueError(
                f'{args.config}: test_dataloader.dataset.type is '
                f'{loader.dataset.get("type")!r}; the demo expects the toy '
                "benchmark's 'ToySegDataset'")
        loader.dataset.domain = domain
        loader.persistent_workers = False
        runner._test_dataloader = loader
        runner._test_evaluator = copy.deepcopy(cfg.test_evaluator)
        runner._test_loop = dict(type='TestLoop')
        metrics = runner.test()
        rows.append((domain, metrics['mIoU']))

    print('\n| toy domain (val) | mIoU |\n|---|---|')
    for domain, miou in rows:
        print(f'| {domain} | {miou:.2f} |')
    print(f'\nconfig: {args.config}  work dir: {args.work_dir}')


if __name__ == '__main__':
    main()
