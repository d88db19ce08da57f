"""The shared command line of ``tools/train.py`` / ``tools/test.py``, and
OpenMMLab's launchers on machines without CUDA.

:func:`add_runner_args` and :func:`config_from_args` are the options and the
config handling both tools share (config file, ``--work-dir``,
``--cfg-options``, ``--launcher``, ``--local-rank``).

mmengine's ``init_dist`` always calls ``torch.cuda.set_device`` and the Runner
passes ``device_ids=[LOCAL_RANK]`` to DDP, both of which fail on a CPU-only
machine. ``tools/train.py`` and ``tools/test.py`` call these helpers so that
``bash tools/dist_train.sh CONFIG 2`` trains with 2 processes over gloo there,
while GPU machines keep mmengine's defaults (NCCL, one device per process).
"""
import argparse
import os
import os.path as osp
from typing import Iterable, Optional, Sequence

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction

_DDP_TYPES = ('MMDistributedDataParallel', 'MMSeparateDistributedDataParallel')


def add_runner_args(parser: argparse.ArgumentParser,
                    work_dir_help: str) -> argparse.ArgumentParser:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and
    ``--local-rank`` (the positional arguments are the tool's own)."""
    parser.add_argument('--work-dir', help=work_dir_help)
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
    # torch.distributed.run (torch >= 2.0) passes `--local-rank`
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None
                      ) -> argparse.Namespace:
    """Parse ``argv``; ``LOCAL_RANK`` defaults to ``--local-rank``."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def config_from_args(args: argparse.Namespace,
                     required: Optional[Iterable[str]] = None) -> Config:
    """The config of ``args.config`` with ``--cfg-options`` merged, checked
    for the ``required`` top-level keys (default: the training ones), with
    ``launcher`` and ``work_dir`` set (``--work-dir`` > the config's >
    ``./work_dirs/<config name>``). Registers mmda's modules first."""
    from mmda.utils import register_all_modules
    from mmda.utils.config import check_config, load_config
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if required is None:
        check_config(cfg, args.config)
    else:
        check_config(cfg, args.config, required=tuple(required))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def prepare_cfg_for_device(cfg: Config) -> Config:
    """Without CUDA, switch the distributed backend to gloo."""
    if not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', {})
        dist_cfg = env_cfg.setdefault('dist_cfg', {})
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            dist_cfg['backend'] = 'gloo'
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Initialise the process group on CPU and drop DDP ``device_ids``.

    Does nothing when CUDA is available (mmengine handles that case).
    """
    if torch.cuda.is_available():
        return
    if cfg.get('launcher', 'none') == 'slurm' and 'RANK' not in os.environ:
        # Map slurm's variables to torch's env:// ones (no CUDA device to set).
        os.environ['RANK'] = os.environ['SLURM_PROCID']
        os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
        os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            import subprocess
            node_list = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
    # default_runtime.py says nccl (GPU machines); without CUDA use gloo, and
    # say so in the config the runner logs
    prepare_cfg_for_device(cfg)
    if not dist.is_initialized():
        backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
        dist.init_process_group(backend=backend)
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') in _DDP_TYPES:
        wrapper['device_ids'] = None
