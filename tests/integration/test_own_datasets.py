"""docs/own_datasets.md, run as written on fabricated data: the label
conversion commands of the tutorial, then DACS and the mean teacher with
configs/own_data/*.py through tools/train.py (a few iterations)."""
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import ROOT

DOC = osp.join(ROOT, 'docs', 'own_datasets.md')
CONVERTER = osp.join(ROOT, 'tools', 'dataset_converters', 'remap_labels.py')
H, W = 96, 160
# the tutorial's source ids: 0 road, 1 sidewalk, 2 building, 3 tree, 4 sky,
# 5 car, 6 bicycle, 255 void; target ids: 0 unlabelled, 1 road,
# 2 building, 3 vegetation, 4 sky, 5 car, 6 sidewalk
SHARED_OF_SOURCE = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 255, 255: 255}
SHARED_OF_TARGET = {0: 255, 1: 0, 6: 1, 2: 2, 3: 3, 4: 4, 5: 5}
COLOURS = np.array([[128, 64, 128], [244, 35, 232], [70, 70, 70],
                    [107, 142, 35], [70, 130, 180], [0, 0, 142],
                    [220, 20, 60]], np.float32)


def _scene(rng, ids):
    """A label of horizontal bands of the given ids, plus its image."""
    label = np.zeros((H, W), np.uint8)
    cuts = np.sort(rng.choice(np.arange(8, H - 8), len(ids) - 1,
                              replace=False))
    for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, H])):
        label[a:b] = ids[i]
    return label


def _fabricate(root, rng):
    """data/my_source and data/my_target in the tutorial's layout."""
    src_ids = [4, 2, 3, 6, 1, 0, 5]  # sky on top ... road, car; 6 bicycle
    tgt_ids = [4, 2, 3, 6, 1, 5]  # target: 6 is sidewalk, 1 road
    def write(domain, split, n, ids, labelled, colour_of):
        for i in range(n):
            label = _scene(rng, ids)
            if domain == 'my_source' and i == 0:
                label[:4] = 255  # void
            if domain == 'my_target':
                label[:, :3] = 0  # unlabelled border
            img = colour_of[label.clip(0, 6)] + rng.normal(0, 8, (H, W, 3))
            img_dir = osp.join(root, 'data', domain, 'images', split)
            os.makedirs(img_dir, exist_ok=True)
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(
                osp.join(img_dir, f'scene_{i:03d}.jpg'), quality=95)
            if labelled:
                lab_dir = osp.join(root, 'data', domain, 'labels', split)
                os.makedirs(lab_dir, exist_ok=True)
                Image.fromarray(label).save(
                    osp.join(lab_dir, f'scene_{i:03d}.png'))
    # target colours: the source's, shifted (a domain gap)
    tgt_colours = np.zeros_like(COLOURS)
    tgt_colours[[1, 2, 3, 4, 5, 6]] = COLOURS[[0, 2, 3, 4, 5, 1]] * 0.8 + 20
    write('my_source', 'train', 4, src_ids, True, COLOURS)
    write('my_target', 'train', 4, tgt_ids, False, tgt_colours)
    write('my_target', 'val', 2, tgt_ids, True, tgt_colours)


def _doc_commands(prefix):
    """The tutorial's shell commands starting with ``prefix``."""
    text = open(DOC).read()
    blocks = re.findall(r'```bash\n(.*?)```', text, re.S)
    cmds = []
    for block in blocks:
        joined = block.replace('\\\n', ' ')
        cmds += [shlex.split(line) for line in joined.splitlines()
                 if line.strip().startswith(prefix)]
    return cmds


def _env():
    return dict(os.environ, OMP_NUM_THREADS='1',
                PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH',
                                                              ''))


def test_remap_labels_as_in_the_tutorial(tmp_path):
    rng = np.random.default_rng(0)
    _fabricate(str(tmp_path), rng)
    cmds = _doc_commands('python tools/dataset_converters/remap_labels.py')
    assert len(cmds) == 2
    for cmd in cmds:
        proc = subprocess.run([sys.executable, CONVERTER, *cmd[2:]],
                              cwd=tmp_path, env=_env(), capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
    for domain, split, mapping in (('my_source', 'train', SHARED_OF_SOURCE),
                                   ('my_target', 'val', SHARED_OF_TARGET)):
        base = tmp_path / 'data' / domain
        for name in os.listdir(base / 'labels' / split):
            old = np.asarray(Image.open(base / 'labels' / split / name))
            new = np.asarray(Image.open(base / 'labels_shared' / split / name))
            expected = np.vectorize(mapping.get)(old)
            assert np.array_equal(new, expected), (domain, name)
    # a forgotten id is an error naming the file and the id
    bad = tmp_path / 'bad'
    os.makedirs(bad)
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(bad / 'x.png')
    proc = subprocess.run([sys.executable, CONVERTER, str(bad),
                           str(tmp_path / 'bad_out'), '--map', '0:0'],
                          env=_env(), capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'x.png' in proc.stderr and '[7]' in proc.stderr


FAST = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'param_scheduler.0.end=2', 'default_hooks.checkpoint.interval=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False']


@pytest.mark.slow
@pytest.mark.parametrize('config', ['dacs_my_data.py',
                                    'mean_teacher_my_data.py'])
def test_tutorial_configs_train_and_evaluate(config, tmp_path):
    rng = np.random.default_rng(1)
    _fabricate(str(tmp_path), rng)
    for cmd in _doc_commands(
            'python tools/dataset_converters/remap_labels.py'):
        subprocess.run([sys.executable, CONVERTER, *cmd[2:]], cwd=tmp_path,
                       env=_env(), check=True, capture_output=True)
    train = [c for c in _doc_commands('python tools/train.py')
             if c[2] == f'configs/own_data/{config}' or
             config == 'dacs_my_data.py' and c[2].endswith(config)]
    cfg_path = osp.join(ROOT, 'configs', 'own_data', config)
    # the mean teacher's ssl-weight ramp starts at iteration 120
    extra = ['custom_hooks.1.ramps.1.begin=1'] \
        if config.startswith('mean_teacher') else []
    work = tmp_path / 'work'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg_path,
         '--work-dir', str(work), '--cfg-options', *FAST, *extra],
        cwd=tmp_path, env=_env(), capture_output=True, text=True,
        timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert (work / 'iter_2.pth').is_file()
    # evaluated on the 6 shared classes of the target val labels
    assert re.search(r'mIoU: \d', out), out[-3000:]
    for name in ('road', 'sidewalk', 'building', 'vegetation', 'sky', 'car'):
        assert re.search(rf'\|\s*{name}\s*\|', out), name
    assert not re.search(r'\|\s*bicycle\s*\|', out)
    if config == 'dacs_my_data.py':
        assert train, 'the tutorial shows how to train dacs_my_data.py'
