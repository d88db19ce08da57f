"""Make OpenMMLab's launchers work on machines without CUDA.

mmengine's ``init_dist`` always calls ``torch.cuda.set_device`` and the Runner
passes ``device_ids=[LOCAL_RANK]`` to DDP, both of which fail on a CPU-only
machine. ``tools/train.py`` and ``tools/test.py`` call these helpers so that
``bash tools/dist_train.sh CONFIG 2`` trains with 2 processes over gloo there,
while GPU machines keep mmengine's defaults (NCCL, one device per process).
"""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config

_DDP_TYPES = ('MMDistributedDataParallel', 'MMSeparateDistributedDataParallel')


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
