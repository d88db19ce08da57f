"""End-to-end tests of tools/train.py, tools/test.py and tools/dist_train.sh
on the embedded toy benchmark (tiny model, a few iterations)."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT

CFG = osp.join(ROOT, 'configs/source_only/toy_source_only.py')
FAST = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
    'train_cfg.val_interval=1000', 'default_hooks.logger.interval=1',
    'randomness.seed=0', 'randomness.deterministic=True',
    'default_hooks.checkpoint.max_keep_ckpts=5',
]


def run(args, check=True, env_extra=None, timeout=600):
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    if env_extra:
        env.update(env_extra)
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}')
    return proc


def train(work_dir, iters, extra=(), resume=None):
    args = [sys.executable, 'tools/train.py', CFG, '--work-dir', str(work_dir)]
    if resume is not None:
        args += ['--resume'] + ([resume] if resume != 'auto' else [])
    args += ['--cfg-options', f'train_cfg.max_iters={iters}',
             'default_hooks.checkpoint.interval=2', *FAST, *extra]
    return run(args)


def state(path):
    ckpt = torch.load(path, map_location='cpu')  # weights_only=True default
    return ckpt


def assert_same_state(a, b):
    sa, sb = a['state_dict'], b['state_dict']
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    oa, ob = a['optimizer']['state'], b['optimizer']['state']
    assert oa.keys() == ob.keys()
    for k in oa:
        for name, v in oa[k].items():
            if torch.is_tensor(v):
                assert torch.equal(v, ob[k][name]), (k, name)


@pytest.fixture(scope='module')
def full_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp('full')
    train(wd, 4)
    return wd


@pytest.mark.slow
def test_train_writes_checkpoints_loadable_with_weights_only(full_run):
    assert osp.isfile(full_run / 'iter_4.pth')
    ckpt = torch.load(full_run / 'iter_4.pth', map_location='cpu',
                      weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert 'message_hub' in ckpt and 'optimizer' in ckpt


@pytest.mark.slow
def test_resume_gives_identical_weights(full_run, tmp_path):
    train(tmp_path, 2)
    assert osp.isfile(tmp_path / 'iter_2.pth')
    proc = train(tmp_path, 4, resume='auto')
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    assert_same_state(state(full_run / 'iter_4.pth'),
                      state(tmp_path / 'iter_4.pth'))


@pytest.mark.slow
def test_resume_from_explicit_checkpoint(full_run, tmp_path):
    train(tmp_path, 4, resume=str(full_run / 'iter_2.pth'))
    assert_same_state(state(full_run / 'iter_4.pth'),
                      state(tmp_path / 'iter_4.pth'))


@pytest.mark.slow
def test_test_tool_reports_miou(full_run, tmp_path):
    proc = run([
        sys.executable, 'tools/test.py', CFG, str(full_run / 'iter_4.pth'),
        '--work-dir', str(tmp_path), '--out', str(tmp_path / 'pred'),
        '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ])
    out = proc.stdout + proc.stderr
    assert re.search(r'mIoU', out), out[-2000:]
    assert len(os.listdir(tmp_path / 'pred')) > 0


@pytest.mark.slow
def test_corrupt_checkpoint_gives_clear_error(full_run, tmp_path):
    bad = tmp_path / 'truncated.pth'
    data = (full_run / 'iter_4.pth').read_bytes()
    bad.write_bytes(data[:len(data) // 2])
    proc = run([sys.executable, 'tools/test.py', CFG, str(bad)], check=False)
    assert proc.returncode != 0
    assert 'truncated.pth' in proc.stderr and 'truncated' in proc.stderr


@pytest.mark.slow
def test_missing_config_gives_clear_error():
    proc = run([sys.executable, 'tools/train.py', 'configs/nope/missing.py'],
               check=False)
    assert proc.returncode != 0
    assert 'Config file not found' in proc.stderr
    assert 'configs/nope/missing.py' in proc.stderr


@pytest.mark.slow
def test_unknown_model_type_names_the_type(tmp_path):
    proc = run([
        sys.executable, 'tools/train.py', CFG, '--work-dir', str(tmp_path),
        '--cfg-options', 'model.decode_head.type=NoSuchHead', *FAST
    ], check=False)
    assert proc.returncode != 0
    assert 'NoSuchHead' in proc.stderr


def _free_port() -> int:
    # a fixed port collides with any other DDP run on the machine
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_dist_train_two_processes_gloo(tmp_path):
    proc = run(['bash', 'tools/dist_train.sh', CFG, '2', '--work-dir',
                str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2',
                'default_hooks.checkpoint.interval=2', *FAST],
               env_extra={'PYTHON': sys.executable, 'PORT': str(_free_port())})
    out = proc.stdout + proc.stderr
    assert osp.isfile(tmp_path / 'iter_2.pth')
    assert "dist_cfg: {'backend': 'gloo'}" in out, out[-3000:]
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size


@pytest.mark.slow
def test_diverging_run_stops_cleanly_and_keeps_last_checkpoint(tmp_path):
    """lr=1e12 blows the weights up after the first steps: later steps are
    skipped, training stops after max_nonfinite_steps with a clear message,
    and the last checkpoint written is complete and loadable."""
    proc = run([
        sys.executable, 'tools/train.py', CFG, '--work-dir', str(tmp_path),
        '--cfg-options', 'train_cfg.max_iters=40',
        'default_hooks.checkpoint.interval=1', 'max_nonfinite_steps=3',
        'optim_wrapper.optimizer.lr=1e12', *FAST
    ], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'NonFiniteLossError' in out and '3 consecutive' in out, out[-3000:]
    assert 'optimizer step skipped' in out
    last = (tmp_path / 'last_checkpoint').read_text().strip()
    ckpt = torch.load(last, map_location='cpu')
    assert 0 < ckpt['meta']['iter'] < 40
    assert set(ckpt) >= {'state_dict', 'optimizer', 'message_hub'}
