"""Nothing is lost on resume, through ``tools/train.py --resume``.

For each method: 4 uninterrupted iterations and 2 + resume + 2 end with
bit-identical weights of every network (student, teacher, discriminators,
generators and their EMA copies), optimizer states (every optimizer), step
counters (EMA / ramp / training counters kept as buffers) and learning rates.

Already covered elsewhere (not repeated here): source-only
(tests/tools/test_tools.py), ASS (tests/models/segmentors/test_ass.py, all networks and optimizers),
SIE (tests/engine/loops/test_sie.py, resume mid-round and at a round boundary). DACS is
covered for the weights by tests/models/segmentors/test_dacs.py (in-process Runner); here it is
run through tools/train.py and its optimizer state is compared too. CycleGAN's
own test resumes at the last iteration only; mean teacher's checks the ramp
values, not the weights.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT, flatten

#: every test here trains in subprocesses through tools/
pytestmark = pytest.mark.slow

_LOADER = ['num_workers=0', 'persistent_workers=False']

COMMON = [
    'train_dataloader.batch_size=2',
    *[f'train_dataloader.{x}' for x in _LOADER],
    'train_cfg.val_interval=1000',
    'default_hooks.logger.interval=1',
    'default_hooks.checkpoint.interval=2',
    'default_hooks.checkpoint.max_keep_ckpts=5',
    'randomness.seed=0', 'randomness.deterministic=True',
]

METHODS = {
    'dacs': ('configs/dacs/toy_dacs.py', [], ('student.', 'teacher.'), ('ema_step', 'uda_iter')),
    'mean_teacher': ('configs/mean_teacher/toy_full.py', [
        # SSL from iteration 2 on: the resumed half runs the ramps. The ramps
        # end at iteration 4 in both runs (by default they end at max_iters,
        # which is 2 in the first half run: a different schedule); the first
        # half stops before they end, hence check_fit=False
        'custom_hooks.1.ramps.1.begin=2',
        'custom_hooks.1.ramps.0.end_iter=4',
        'custom_hooks.1.ramps.1.end_iter=4',
        'custom_hooks.1.check_fit=False',
    ], ('student.', 'teacher.'), ('ema_step', 'uda_iter')),
    # the same with the two global-RNG draws (translator noise, student
    # dropout) switched off
    'mean_teacher_no_global_rng': ('configs/mean_teacher/toy_full.py', [
        'custom_hooks.1.ramps.1.begin=2',
        'custom_hooks.1.ramps.0.end_iter=4',
        'custom_hooks.1.ramps.1.end_iter=4',
        'custom_hooks.1.check_fit=False',
        'model.student_dropout=False', 'model.translator.noise_std=0.0',
    ], ('student.', 'teacher.'), ('ema_step', 'uda_iter')),
    'cyclegan': ('configs/cyclegan/toy_day2night.py', [
        'param_scheduler.0.milestones=[3]',
    ], ('gen_a2b.', 'gen_b2a.', 'disc_a.', 'disc_b.', 'gen_a2b_ema.',
        'gen_b2a_ema.'), ('ema_steps', 'train_steps')),
}


def train(config, work_dir, iters, extra, resume=None):
    args = [sys.executable, 'tools/train.py', config, '--work-dir',
            str(work_dir)]
    if resume is not None:
        args += ['--resume', resume]
    args += ['--cfg-options', f'train_cfg.max_iters={iters}', *COMMON,
             *extra]
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


_flat = flatten  # also imported by the DAFormer/MIC tests


def assert_same(a, b):
    sa, sb = a['state_dict'], b['state_dict']
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), f'weight {k} differs after resume'
    oa, ob = _flat(a['optimizer']), _flat(b['optimizer'])
    assert oa.keys() == ob.keys()
    n = 0
    for k in oa:
        if torch.is_tensor(oa[k]):
            n += 1
            assert torch.equal(oa[k], ob[k]), f'optimizer {k} differs'
        else:
            assert oa[k] == ob[k], f'optimizer {k}: {oa[k]} vs {ob[k]}'
    assert n > 0


@pytest.mark.timeout(600)
@pytest.mark.parametrize('method', sorted(METHODS))
def test_half_resume_half_equals_uninterrupted(method, tmp_path):
    config, extra, prefixes, counters = METHODS[method]
    full, half = tmp_path / 'full', tmp_path / 'half'
    train(config, full, 4, extra)
    train(config, half, 2, extra)
    assert osp.isfile(half / 'iter_2.pth')
    out = train(config, half, 4, extra, resume=str(half / 'iter_2.pth'))
    assert 'resumed' in out.lower()
    a = torch.load(full / 'iter_4.pth', map_location='cpu', weights_only=True)
    b = torch.load(half / 'iter_4.pth', map_location='cpu', weights_only=True)
    assert a['meta']['iter'] == b['meta']['iter'] == 4
    for p in prefixes:
        assert any(k.startswith(p) for k in a['state_dict']), p
    for c in counters:  # EMA / ramp / step counters survived the resume
        assert int(a['state_dict'][c]) == int(b['state_dict'][c]) == 4, c
    assert_same(a, b)
    # the schedulers resumed too (same learning rates)
    assert _flat(a.get('param_schedulers')) == _flat(
        b.get('param_schedulers'))
