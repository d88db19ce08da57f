"""torch>=2.6 weights_only loading of mmengine checkpoints (see
mmda/utils/checkpoint.py) without allowing arbitrary globals."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmda  # noqa: F401  (allow-lists the mmengine types)
from mmda.utils.checkpoint import CheckpointError, check_checkpoint_file


def test_message_hub_state_loads_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('mmda_test_ckpt')
    for i in range(5):
        hub.update_scalar('train/loss', float(i))
    hub.update_info('iter', 3)
    ckpt = dict(message_hub=hub.state_dict(), meta=dict(seed=np.int64(7)),
                arr=np.arange(6, dtype=np.float32).reshape(2, 3))
    path = tmp_path / 'c.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(2.0)
    assert buf.max() == 4.0
    assert loaded['meta']['seed'] == 7
    np.testing.assert_array_equal(loaded['arr'], ckpt['arr'])


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


class _EvilGetattr:
    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


@pytest.mark.parametrize('obj', [_Evil(), _EvilGetattr()])
def test_arbitrary_globals_still_refused(tmp_path, obj):
    path = tmp_path / 'evil.pth'
    torch.save({'x': obj}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, map_location='cpu', weights_only=True)


def test_getattr_only_resolves_history_buffer_methods(tmp_path):
    # getattr on an allowed class but a non-statistics attribute
    class _Sneaky:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'sneaky.pth'
    torch.save({'x': _Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        torch.load(path, map_location='cpu', weights_only=True)


def test_check_checkpoint_file_errors(tmp_path):
    with pytest.raises(CheckpointError, match='not found'):
        check_checkpoint_file(str(tmp_path / 'missing.pth'))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty'):
        check_checkpoint_file(str(empty))
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, good)
    check_checkpoint_file(str(good))
    data = good.read_bytes()
    trunc = tmp_path / 'trunc.pth'
    trunc.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='trunc.pth.*truncated'):
        check_checkpoint_file(str(trunc))
    foreign = tmp_path / 'notes.txt'
    foreign.write_text('hello')
    with pytest.raises(CheckpointError, match='not a torch checkpoint'):
        check_checkpoint_file(str(foreign))
    import zipfile
    with zipfile.ZipFile(tmp_path / 'other.zip', 'w') as zf:
        zf.writestr('readme.txt', 'x')
    with pytest.raises(CheckpointError, match='no data.pkl'):
        check_checkpoint_file(str(tmp_path / 'other.zip'))
