"""Every method trains with 2 CPU processes (gloo) through
``tools/dist_train.sh`` and mmengine's DDP wrappers, and the ranks stay in sync.

Each test runs 2 iterations of batch 2 per rank on the toy data. A test-only
hook (``RankStateHook`` of tests/helpers.py, loaded through ``custom_imports``) saves
every rank's model and optimizer state at the end. Checked:

* all parameters (student, teacher, discriminators, generators, their EMA
  copies) and all optimizer states are bit-identical on both ranks although
  the ranks saw different images (their losses differ): the gradients were
  all-reduced (DDP averages them, as mmseg/mmengine do; the logged losses are
  each rank's own, mmengine's ``parse_losses`` does not all-reduce them);
* running 2 iterations exercises ``find_unused_parameters=False``: an unused
  parameter would make DDP raise in the second iteration;
* BatchNorm running statistics are per rank (``broadcast_buffers=False``,
  no SyncBN), so they differ between ranks; ``sync_bn='torch'`` needs
  CUDA/XPU tensors in torch (a CPU run reports torch's error, tested below).
"""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT, flatten

#: every test here trains in subprocesses through tools/
pytestmark = pytest.mark.slow

# BatchNorm statistics are rank-local without SyncBN
_RANK_LOCAL = ('running_mean', 'running_var')

_DL_FAST = dict(num_workers=0, persistent_workers=False)


def _fast_loader(loader, batch_size=None):
    if loader is None:
        return
    loader.update(_DL_FAST)
    if batch_size is not None:
        loader['batch_size'] = batch_size


def make_cfg(config, work_dir, max_iters=2, extra=None):
    """Load ``config``, make it tiny and add the rank-state hook; return the
    path of the dumped config."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    if 'max_iters' in cfg.train_cfg:  # not SIE's round-based loop
        cfg.train_cfg.max_iters = max_iters
    if 'val_interval' in cfg.train_cfg:
        cfg.train_cfg.val_interval = 10000
    _fast_loader(cfg.get('train_dataloader'), 2)
    for key in ('val_dataloader', 'test_dataloader'):
        _fast_loader(cfg.get(key))
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.log_level = 'INFO'
    hooks = list(cfg.get('custom_hooks', []) or [])
    # visualisation hooks write images every few iterations: not needed
    hooks = [h for h in hooks if 'Visualization' not in h['type']]
    hooks.append(dict(type='RankStateHook'))
    cfg.custom_hooks = hooks
    imports = list(cfg.get('custom_imports', {}).get('imports', ['mmda']))
    cfg.custom_imports = dict(
        imports=imports + ['mmseg.visualization', 'tests.helpers'],
        allow_failed_imports=False)
    if extra:
        cfg.merge_from_dict(extra)
    path = osp.join(work_dir, 'cfg.py')
    cfg.dump(path)
    return path


def dist_train(cfg_path, work_dir, port, timeout=300):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [ROOT, env.get('PYTHONPATH', '')])
    env.update(PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', cfg_path, '2', '--work-dir',
         str(work_dir)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout)
    return proc


_flat = flatten  # also imported by the DAFormer/MIC tests


def load_ranks(work_dir):
    states = []
    for r in range(2):
        path = osp.join(work_dir, f'rank{r}_state.pth')
        assert osp.isfile(path), f'rank {r} did not write its state'
        states.append(torch.load(path, map_location='cpu',
                                 weights_only=False))
    return states


def assert_ranks_in_sync(work_dir, proc, wrapper, prefixes=()):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "dist_cfg: {'backend': 'gloo'}" in out, out[-3000:]
    s0, s1 = load_ranks(work_dir)
    assert s0['wrapper'] == s1['wrapper'] == wrapper
    assert s0['iter'] == s1['iter'] == 2
    sd0, sd1 = s0['state_dict'], s1['state_dict']
    assert sd0.keys() == sd1.keys()
    for p in prefixes:  # every network of the method is in the state
        assert any(k.startswith(p) for k in sd0), (p, list(sd0)[:20])
    local_differs = False
    for k in sd0:
        if k.endswith(_RANK_LOCAL):
            local_differs |= not torch.equal(sd0[k], sd1[k])
            continue
        assert torch.equal(sd0[k], sd1[k]), f'{k} differs between ranks'
    o0, o1 = _flat(s0['optimizer']), _flat(s1['optimizer'])
    assert o0.keys() == o1.keys()
    n_tensors = 0
    for k in o0:
        if torch.is_tensor(o0[k]):
            n_tensors += 1
            assert torch.equal(o0[k], o1[k]), f'optimizer {k} differs'
        else:
            assert o0[k] == o1[k], f'optimizer {k} differs'
    assert n_tensors > 0  # the optimizers did step
    # the ranks trained on different images: their own losses differ
    l0, l1 = s0['outputs'], s1['outputs']
    assert l0.keys() == l1.keys() and l0
    assert any(l0[k] != l1[k] for k in l0), (l0, l1)
    return s0, s1, local_differs


def _run(tmp_path, config, port, extra=None):
    cfg = make_cfg(config, str(tmp_path), extra=extra)
    return dist_train(cfg, tmp_path, port)


@pytest.mark.timeout(300)
def test_source_only_ddp(tmp_path):
    proc = _run(tmp_path, 'configs/source_only/toy_source_only.py', 29611)
    _, _, bn_local = assert_ranks_in_sync(
        tmp_path, proc, 'MMDistributedDataParallel', ('backbone.',
                                                      'decode_head.'))
    assert bn_local  # no SyncBN: BatchNorm statistics are per rank


@pytest.mark.timeout(300)
def test_dacs_ddp(tmp_path):
    proc = _run(tmp_path, 'configs/dacs/toy_dacs.py', 29612)
    s0, _, _ = assert_ranks_in_sync(
        tmp_path, proc, 'MMSeparateDistributedDataParallel',
        ('student.', 'teacher.'))
    sd = s0['state_dict']
    assert int(sd['ema_step']) == 2  # the EMA hook ran after every step


@pytest.mark.timeout(300)
def test_mean_teacher_ddp(tmp_path):
    proc = _run(tmp_path, 'configs/mean_teacher/toy_full.py', 29613, extra={
        'param_scheduler.0.end': 2,
        # SSL losses from the first iteration (no warm-up)
        'custom_hooks.1.ramps.1.begin': 0,
    })
    s0, _, _ = assert_ranks_in_sync(
        tmp_path, proc, 'MMSeparateDistributedDataParallel',
        ('student.', 'teacher.'))
    assert int(s0['state_dict']['ema_step']) == 2
    assert any('ssl' in k for k in s0['outputs']), s0['outputs']


@pytest.mark.timeout(300)
def test_ass_ddp(tmp_path):
    proc = _run(tmp_path, 'configs/ass/toy_ga_csa.py', 29614)
    s0, _, _ = assert_ranks_in_sync(
        tmp_path, proc, 'MMSeparateDistributedDataParallel',
        ('student.', 'global_discriminator.', 'semantic_discriminator.'))
    assert set(s0['optimizer']) == {'student', 'global_discriminator',
                                    'semantic_discriminator'}


@pytest.mark.timeout(300)
def test_cyclegan_ddp(tmp_path):
    proc = _run(tmp_path, 'configs/cyclegan/toy_day2night.py', 29615)
    s0, _, _ = assert_ranks_in_sync(
        tmp_path, proc, 'MMSeparateDistributedDataParallel',
        ('gen_a2b.', 'gen_b2a.', 'disc_a.', 'disc_b.', 'gen_a2b_ema.'))
    assert set(s0['optimizer']) == {'gen_a2b', 'gen_b2a', 'disc_a', 'disc_b'}


@pytest.mark.timeout(300)
def test_sie_ddp(tmp_path):
    """Source-only warm-up then one self-training round on 2 ranks; the
    round's example set is built from both ranks' shards."""
    path = make_cfg('configs/sie/toy_sie.py', str(tmp_path), extra={
        'train_cfg.source_only_iters': 2,
        'train_cfg.max_rounds': 1,
        'train_cfg.init_portion': 1.0,
        'train_cfg.portion_step': 1.0,
        'train_cfg.max_portion': 2.0,
        'train_cfg.num_patches': 2,
        'train_cfg.epochs_per_round': 1,
        'train_cfg.target_dataloader.dataset.indices': 24,
        'train_cfg.target_dataloader.batch_size': 4,
        'train_cfg.example_dataloader.batch_size': 2,
        'train_cfg.val_interval': 1000,
    })
    proc = dist_train(path, tmp_path, 29616)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    s0, s1 = load_ranks(tmp_path)
    assert s0['iter'] == s1['iter'] and s0['iter'] > 2  # round 0 trained
    # the pseudo-label diagnostic gathers both ranks' confusion counts
    last = open(osp.join(str(tmp_path), 'last_checkpoint')).read().strip()
    ckpt = torch.load(last, map_location='cpu', weights_only=False)
    r0 = ckpt['meta']['self_training']['rounds'][0]
    q = r0['pseudo_label_quality']
    assert 0 < q['coverage'] <= 100
    assert sum(q['gt_share']) == pytest.approx(100.0)
    # every selected image counted once, whichever rank predicted it
    import numpy as np
    from mmengine.config import Config
    from PIL import Image

    from mmda.registry import DATASETS
    cfg = Config.fromfile(path)
    ds = DATASETS.build(cfg.train_cfg.target_dataloader.dataset)
    labelled = sum(
        int((np.array(Image.open(ds.get_data_info(i)['seg_map_path'])) !=
             255).sum()) for i in r0['selected'])
    assert len(r0['selected']) >= 2 and q['num_pixels'] == labelled
    for k in s0['state_dict']:
        if not k.endswith(_RANK_LOCAL):
            assert torch.equal(s0['state_dict'][k], s1['state_dict'][k]), k
    o0, o1 = _flat(s0['optimizer']), _flat(s1['optimizer'])
    for k in o0:
        if torch.is_tensor(o0[k]):
            assert torch.equal(o0[k], o1[k]), k


@pytest.mark.timeout(300)
def test_sync_bn_option_reaches_the_model(tmp_path):
    """``sync_bn='torch'`` converts the BatchNorms (mmengine's Runner); torch's
    SyncBatchNorm only runs on CUDA/XPU, so on CPU training stops with
    torch's message instead of silently training unsynchronised statistics.
    """
    if torch.cuda.is_available():
        pytest.skip('CPU-only behaviour')
    proc = _run(tmp_path, 'configs/source_only/toy_source_only.py', 29617,
                extra={'sync_bn': 'torch'})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    # DDP refuses SyncBatchNorm modules on CPU ('SyncBatchNorm layers only
    # work with GPU modules'; torch's forward has a similar check)
    assert re.search(r'SyncBatchNorm (layers only work with GPU|expected '
                     r'input tensor to be on GPU)', out), out[-3000:]
