"""Torch intra-op threads that do not oversubscribe a small machine.

By default torch runs one intra-op thread per core, and every dataloader
worker is one more busy process: on 2 cores, 2 threads + 2 workers made 100
toy DACS iterations take 16-107 s instead of 17.7-20.3 s with 1 thread
(``docs/performance.md``). ``tools/train.py`` and ``tools/demo.py`` call
:func:`configure_torch_threads` before building the runner. The choice, in
order:

1. ``env_cfg.torch_threads = N`` in the config (or
   ``--cfg-options env_cfg.torch_threads=N``): N threads;
2. the ``OMP_NUM_THREADS`` environment variable, if set: torch's own reading
   of it is kept (nothing is changed);
3. otherwise (``env_cfg.torch_threads`` unset or ``'auto'``):
   ``max(1, cores // processes - workers)`` with ``cores`` the CPUs this
   process may run on, ``processes`` the training processes on this machine
   (``LOCAL_WORLD_SIZE``) and ``workers`` the dataloader workers of the
   training loaders (``train_dataloader`` and the ``*dataloader`` entries of
   ``train_cfg``).
"""
import os
from typing import Tuple

import torch


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask, not the machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def train_loader_workers(cfg) -> int:
    """Dataloader workers of the training loaders of ``cfg``."""
    loaders = [cfg.get('train_dataloader')]
    train_cfg = cfg.get('train_cfg') or {}
    loaders += [v for k, v in train_cfg.items()
                if str(k).endswith('dataloader')]
    return sum(int(ld.get('num_workers', 0) or 0) for ld in loaders
               if isinstance(ld, dict))


def auto_torch_threads(cores: int, workers: int, processes: int = 1) -> int:
    """``max(1, cores // processes - workers)``."""
    return max(1, cores // max(processes, 1) - workers)


def configure_torch_threads(cfg) -> Tuple[int, str]:
    """Set ``torch.set_num_threads`` for training (see the module doc).

    Returns:
        tuple: the number of threads and why (for the log).
    """
    setting = (cfg.get('env_cfg') or {}).get('torch_threads', 'auto')
    if setting not in (None, 'auto'):
        if isinstance(setting, bool) or not isinstance(setting, int) \
                or setting < 1:
            raise ValueError('env_cfg.torch_threads must be a positive int '
                             f"or 'auto', got {setting!r}")
        n, why = setting, 'env_cfg.torch_threads'
    elif os.environ.get('OMP_NUM_THREADS'):
        return torch.get_num_threads(), 'OMP_NUM_THREADS'
    else:
        cores, workers = available_cores(), train_loader_workers(cfg)
        procs = int(os.environ.get('LOCAL_WORLD_SIZE', '1') or 1)
        n = auto_torch_threads(cores, workers, procs)
        why = (f'auto: {cores} cores, {procs} process(es), {workers} '
               "dataloader workers; set env_cfg.torch_threads or "
               'OMP_NUM_THREADS to override')
    torch.set_num_threads(n)
    return n, why
