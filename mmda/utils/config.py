"""Config loading with errors that name the file and the key."""
import os.path as osp
from typing import Iterable

from mmengine.config import Config


class ConfigError(ValueError):
    """A config file is missing, unreadable or lacks a required key."""


def load_config(path: str) -> Config:
    if not osp.isfile(path):
        raise ConfigError(f'Config file not found: {path!r} '
                          '(expected a Python config such as '
                          'configs/dacs/toy_dacs.py)')
    try:
        return Config.fromfile(path)
    except FileNotFoundError as e:  # a missing _base_ file
        raise ConfigError(f'{path}: {e}') from e


def check_config(cfg: Config, path: str = '<config>',
                 required: Iterable[str] = ('model', 'train_dataloader',
                                            'train_cfg', 'optim_wrapper')) -> None:
    """Raise :class:`ConfigError` naming the missing top-level keys."""
    missing = [k for k in required if cfg.get(k, None) is None]
    if missing:
        raise ConfigError(
            f'{path}: missing required key(s) {missing}; a training config '
            'needs model, train_dataloader, train_cfg and optim_wrapper '
            '(usually inherited through _base_)')
