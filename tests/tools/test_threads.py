"""Default torch threads of tools/train.py and tools/demo.py."""
import pytest
import torch
from mmengine.config import Config

from mmda.utils import threads


@pytest.fixture(autouse=True)
def _restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _cfg(**env_cfg):
    return Config(dict(
        env_cfg=env_cfg,
        train_dataloader=dict(num_workers=2),
        train_cfg=dict(type='SelfTrainingLoop',
                       target_dataloader=dict(num_workers=1))))


def test_auto_rule():
    assert threads.auto_torch_threads(2, 2) == 1  # never 0
    assert threads.auto_torch_threads(8, 2) == 6
    assert threads.auto_torch_threads(8, 1, processes=2) == 3
    assert threads.train_loader_workers(_cfg()) == 3


def test_configure(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.setattr(threads, 'available_cores', lambda: 6)
    n, why = threads.configure_torch_threads(_cfg())
    assert n == 3 and torch.get_num_threads() == 3 and why.startswith('auto')
    n, why = threads.configure_torch_threads(_cfg(torch_threads=2))
    assert n == 2 and torch.get_num_threads() == 2
    with pytest.raises(ValueError, match='torch_threads'):
        threads.configure_torch_threads(_cfg(torch_threads=0))
    # a user's OMP_NUM_THREADS wins over the automatic choice
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    torch.set_num_threads(1)
    assert threads.configure_torch_threads(_cfg()) == (1, 'OMP_NUM_THREADS')
