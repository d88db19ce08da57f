"""Checkpoints are written atomically: a save killed half-way leaves the
previous file intact (mmda/utils/atomic_io.py)."""
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import mmda  # noqa: F401  (installs the atomic backend)
from mmda.utils.atomic_io import AtomicLocalBackend


def test_local_paths_use_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')),
                      AtomicLocalBackend)


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / 'latest.pth')
    save_checkpoint({'state_dict': {'w': torch.zeros(4)}}, path)

    def boom(fd):
        raise KeyboardInterrupt('killed during save')

    monkeypatch.setattr(os, 'fsync', boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.ones(4)}}, path)
    monkeypatch.undo()
    ckpt = torch.load(path, map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.zeros(4))
    # no temporary files left behind
    assert sorted(os.listdir(tmp_path)) == ['latest.pth']


def test_successful_save_replaces(tmp_path):
    path = str(tmp_path / 'c.pth')
    save_checkpoint({'state_dict': {'w': torch.zeros(2)}}, path)
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, path)
    assert torch.equal(torch.load(path)['state_dict']['w'], torch.ones(2))
