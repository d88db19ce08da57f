"""SIE before/after the move of its training step into a segmentor.

``tests/engine/loops/sie_reference.json`` was recorded with the code of commit
0d87895 (the step inside ``SelfTrainingLoop._train_step``, the pseudo-label
math in ``mmda/engine/loops/sie_pseudo_labels.py``) by::

    PYTHONPATH=<checkout> OMP_NUM_THREADS=1 python \
        tests/engine/loops/test_sie_equivalence.py --record tests/engine/loops/sie_reference.json

(the options of :func:`_options` written out in the file then, since
``tests/test_sie.py`` of that commit imports the old module paths).

A tiny in-process run of ``configs/sie/toy_sie.py`` (2 warm-up iterations,
2 rounds, dropout 0.1 before the classifier so that the per-step RNG
matters): the log variables of every iteration, the selection and
thresholds of every round, the SHA-256 of every example image and label
PNG, and of the final weights. The test repeats the run with the current
code and asks for the same values, bit for bit. Floating-point results of
the convolutions depend on the CPU's vector path and the torch version, so
the comparison is skipped on another platform than the recording one.
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import tempfile

import pytest
import torch

from tests.helpers import ROOT

REFERENCE = osp.join(osp.dirname(osp.abspath(__file__)), 'sie_reference.json')
CONFIG = osp.join(ROOT, 'configs', 'sie', 'toy_sie.py')


def _options() -> dict:
    """test_sie's tiny two-round schedule from scratch, one epoch per round,
    validation only at the end, dropout before the classifier."""
    from tests.engine.loops.test_sie import _option_dict
    out = _option_dict(None)
    out.update({
        'train_cfg.epochs_per_round': 1,
        'train_cfg.val_after_warmup': False,
        'train_cfg.val_interval': 100,
        'model.segmentor.decode_head.dropout_ratio': 0.1,
        'default_hooks.checkpoint.interval': 1000,
    })
    return out


def _platform() -> dict:
    return dict(torch=torch.__version__.split('+')[0],
                cpu=torch.backends.cpu.get_cpu_capability())


def _sha(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def record_run(work_dir: str) -> dict:
    """Run the tiny schedule in ``work_dir``; return what it produced."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.set_num_threads(1)
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(_options())
    cfg.work_dir = work_dir
    cfg.experiment_name = 'sie_equivalence'
    runner = Runner.from_cfg(cfg)
    steps = []

    class Recorder(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            steps.append({k: float(v) for k, v in sorted(outputs.items())})

    runner.register_hook(Recorder())
    runner.train()
    rounds = []
    for info in runner.train_loop.rounds:
        root = osp.join(work_dir, info['dir'])
        files = sorted(glob.glob(osp.join(root, 'images', '*.png')) +
                       glob.glob(osp.join(root, 'labels', '*.png')))
        rounds.append(dict(
            thresholds=info['thresholds'], selected=info['selected'],
            num_iters=info['num_iters'],
            pseudo_label_quality=info.get('pseudo_label_quality'),
            files={osp.relpath(f, root): _sha(f) for f in files}))
    model = runner.model.student  # the SIE's segmentor (the recorded keys)
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return dict(platform=_platform(), steps=steps, rounds=rounds,
                weights=h.hexdigest())


@pytest.mark.slow
def test_sie_run_matches_the_recorded_reference(tmp_path):
    with open(REFERENCE) as f:
        ref = json.load(f)
    if ref['platform'] != _platform():
        pytest.skip(f'reference recorded on {ref["platform"]}, this is '
                    f'{_platform()}')
    got = record_run(str(tmp_path / 'run'))
    assert len(got['steps']) == len(ref['steps'])
    for i, (a, b) in enumerate(zip(got['steps'], ref['steps'])):
        assert a == b, (i, a, b)
    assert got['rounds'] == ref['rounds']
    assert got['weights'] == ref['weights']


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--record', required=True)
    args = p.parse_args()
    import mmda  # the checkout on PYTHONPATH: the code being recorded
    print(f'recording {osp.dirname(mmda.__file__)}')
    os.environ.setdefault('MMDA_DATA_ROOT', tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as tmp:
        out = record_run(osp.join(tmp, 'run'))
    os.makedirs(osp.dirname(osp.abspath(args.record)), exist_ok=True)
    with open(args.record, 'w') as f:
        json.dump(out, f, indent=1)
    print(f'{len(out["steps"])} steps, {len(out["rounds"])} rounds -> '
          f'{args.record}')
