"""Real paths end to end (issue 14): the weights every real config needs,
errors that name the file / key / command, schedules shortened with one
override, SIE's loop contract, file modes and logs.

The fast tests run on every ``pytest``; the ``test_e2e_*`` tests (at the
bottom) are marked ``slow``: a module fixture fabricates every dataset in its
as-downloaded layout at real resolution, runs docs/preparing_data.md's
"Commands" block as written and makes the weight stand-ins; each test then
trains one real config family for one iteration with only documented
overrides (``tools/test.py`` and ``dist_train.sh ... 2`` once).
"""
import glob
import os
import os.path as osp
import re
import stat
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers import ROOT

PYTHON = sys.executable


def _cfg(rel):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', rel))


def _real_configs():
    out = []
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))):
        rel = osp.relpath(path, osp.join(ROOT, 'configs'))
        if rel.startswith('_base_') or osp.basename(rel).startswith('toy'):
            continue
        out.append(rel)
    return out


# ---------------------------------------------------------------------------
# weights: local files only, named with their key (items 1-3)
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_no_real_config_downloads_weights_at_run_time():
    """Item 1: the deeplabv2_r101 configs named torchvision://resnet101."""
    from mmda.utils.weights import REMOTE_PREFIXES, iter_weight_files
    remote, r101 = [], []
    for rel in _real_configs():
        cfg = _cfg(rel)
        for key, path in iter_weight_files(cfg):
            if path.startswith(REMOTE_PREFIXES):
                remote.append((rel, key, path))
            if 'resnet101-63fe2227' in path:
                r101.append(rel)
    assert not remote, remote
    # the six source-only DeepLabV2 configs and SIE's DeepLab one
    for rel in ('source_only/gta2city.py', 'source_only/synthia2city.py',
                'source_only/city2darkzurich.py',
                'source_only/city2nightdriving.py',
                'source_only/gta2city_oracle.py',
                'source_only/synthia2city_oracle.py',
                'sie/gta2city_deeplabv2_r101.py'):
        assert rel in r101, rel


@pytest.mark.slow
def test_every_weight_file_is_documented():
    """docs/pretrained_weights.md lists every file every real config
    names, and the error knows how to obtain each."""
    from mmda.utils.weights import KNOWN_WEIGHTS, iter_weight_files
    doc = open(osp.join(ROOT, 'docs', 'pretrained_weights.md')).read()
    for rel in _real_configs():
        for key, path in iter_weight_files(_cfg(rel)):
            name = osp.basename(path)
            assert name in KNOWN_WEIGHTS, (rel, key, path)
            assert name in doc, (rel, name)
            assert key in doc or key.split('.', 1)[1] in doc, (rel, key)


def test_missing_resnet101_error_names_file_key_and_url(tmp_path):
    from mmda.utils.weights import PretrainedWeightsError, check_weight_files
    with pytest.raises(PretrainedWeightsError) as e:
        check_weight_files(_cfg('source_only/gta2city.py'),
                           root=str(tmp_path))
    msg = str(e.value)
    assert 'checkpoints/resnet101-63fe2227.pth' in msg
    assert 'model.backbone.init_cfg.checkpoint' in msg
    assert 'https://download.pytorch.org/models/resnet101-63fe2227.pth' in msg
    # the file present: no error
    os.makedirs(tmp_path / 'checkpoints')
    torch.save({}, tmp_path / 'checkpoints' / 'resnet101-63fe2227.pth')
    check_weight_files(_cfg('source_only/gta2city.py'), root=str(tmp_path))
    # a remote name is refused unless asked for
    cfg = _cfg('source_only/gta2city.py')
    cfg.model.backbone.init_cfg.checkpoint = 'torchvision://resnet101'
    with pytest.raises(PretrainedWeightsError,
                       match='would download.*resnet101-63fe2227.pth'):
        check_weight_files(cfg, root=str(tmp_path))
    cfg.allow_weight_download = True
    check_weight_files(cfg, root=str(tmp_path))


@pytest.mark.slow
def test_train_py_stops_before_downloading(tmp_path):
    """tools/train.py on a DeepLabV2-R101 config without the file: an error
    naming the file, the key and the URL (before: URLError offline)."""
    proc = subprocess.run(
        [PYTHON, osp.join(ROOT, 'tools', 'train.py'),
         osp.join(ROOT, 'configs', 'source_only', 'gta2city.py'),
         '--work-dir', str(tmp_path / 'w')],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT))
    assert proc.returncode != 0
    err = proc.stderr
    assert 'PretrainedWeightsError' in err, err[-3000:]
    assert 'resnet101-63fe2227.pth' in err
    assert 'model.backbone.init_cfg.checkpoint' in err
    assert 'download.pytorch.org' in err


def test_cyclegan_and_mean_teacher_errors_say_what_and_which_run(tmp_path):
    """Items 2 and 3: VGG19 of the feature loss; the CycleGAN checkpoint the
    mean teacher translates with (key model.translator.checkpoint)."""
    from mmda.utils.weights import PretrainedWeightsError, check_weight_files
    with pytest.raises(PretrainedWeightsError) as e:
        check_weight_files(_cfg('cyclegan/city2night.py'),
                           root=str(tmp_path))
    msg = str(e.value)
    assert 'vgg19-dcbb9e9d.pth' in msg
    assert 'model.feature_loss.vgg_checkpoint' in msg
    assert 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth' in msg

    # tools/test.py checks only what building the model loads
    with pytest.raises(PretrainedWeightsError) as e:
        check_weight_files(_cfg('mean_teacher/cs2night_online_translation.py'),
                           init=False,
                           root=str(tmp_path))
    msg = str(e.value)
    assert 'cyclegan_fl_city2night.pth' in msg
    assert 'model.translator.checkpoint' in msg
    assert 'python tools/train.py configs/cyclegan/city2night.py' in msg
    assert 'vgg16_deeplab_largefov' not in msg  # init file: training only
    # training: every missing file in one error
    with pytest.raises(PretrainedWeightsError) as e:
        check_weight_files(_cfg('mean_teacher/cs2night_online_translation.py'),
                           root=str(tmp_path))
    msg = str(e.value)
    assert 'vgg16_deeplab_largefov_mmda.pth' in msg
    assert 'tools/model_converters/vgg16_torchvision.py' in msg
    assert 'cyclegan_fl_city2night.pth' in msg


def test_load_time_errors_name_the_run_and_key(tmp_path):
    from mmda.utils.checkpoint import load_generator_weights
    from mmda.models.losses.vgg_feature_loss import load_vgg_features
    missing = str(tmp_path / 'checkpoints' / 'cyclegan_fl_city2night.pth')
    with pytest.raises(FileNotFoundError) as e:
        load_generator_weights(torch.nn.Conv2d(1, 1, 1), missing)
    msg = str(e.value)
    assert 'model.translator.checkpoint' in msg
    assert 'configs/cyclegan/city2night.py' in msg
    with pytest.raises(FileNotFoundError) as e:
        load_vgg_features(torch.nn.Sequential(),
                          str(tmp_path / 'vgg19-dcbb9e9d.pth'))
    assert 'download.pytorch.org/models/vgg19-dcbb9e9d.pth' in str(e.value)
    assert 'model.feature_loss.vgg_checkpoint' in str(e.value)


# ---------------------------------------------------------------------------
# item 6: fresh clone
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_converters_create_the_checkpoints_folder(tmp_path):
    import importlib.util

    import torchvision
    spec = importlib.util.spec_from_file_location(
        'vgg16_torchvision',
        osp.join(ROOT, 'tools', 'model_converters', 'vgg16_torchvision.py'))
    vgg16_torchvision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vgg16_torchvision)
    src = tmp_path / 'vgg16-397923af.pth'
    torch.save(torchvision.models.vgg16().state_dict(), src)
    dst = tmp_path / 'fresh_clone' / 'checkpoints' / 'vgg16_fcn_mmda.pth'
    vgg16_torchvision.main([str(src), str(dst), '--fc', 'fcn'])
    assert dst.is_file()


def test_checkpoints_are_git_ignored():
    for path in ('checkpoints/resnet101-63fe2227.pth', 'some/model.pth'):
        proc = subprocess.run(['git', 'check-ignore', '-q', path], cwd=ROOT)
        assert proc.returncode == 0, path


def test_datasets_extra_installs_cityscapesscripts():
    text = open(osp.join(ROOT, 'pyproject.toml')).read()
    assert re.search(r'^datasets = \[[^\]]*"cityscapesscripts"', text,
                     re.M), 'pyproject [datasets] extra'


# ---------------------------------------------------------------------------
# item 7: checkpoints follow the umask
# ---------------------------------------------------------------------------
def test_checkpoints_follow_the_umask(tmp_path):
    import mmda  # noqa: F401  (installs the atomic backend)
    from mmengine.runner.checkpoint import save_checkpoint
    old = os.umask(0o022)
    try:
        path = str(tmp_path / 'iter_1.pth')
        save_checkpoint({'state_dict': {'w': torch.zeros(2)}}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        from mmengine.fileio import put_text
        put_text('iter_1.pth', str(tmp_path / 'last_checkpoint'))
        assert stat.S_IMODE(os.stat(tmp_path / 'last_checkpoint').st_mode) \
            == 0o644
        os.umask(0o077)
        save_checkpoint({'state_dict': {}}, str(tmp_path / 'private.pth'))
        assert stat.S_IMODE(os.stat(tmp_path / 'private.pth').st_mode) \
            == 0o600
        # overwriting keeps the existing file's mode
        os.chmod(path, 0o640)
        save_checkpoint({'state_dict': {}}, path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------
# item 5: SIE loop contract
# ---------------------------------------------------------------------------
SIE_TOY = osp.join(ROOT, 'configs', 'sie', 'toy_sie.py')


def _sie_runner(work_dir, **options):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(SIE_TOY)
    cfg.merge_from_dict({
        'train_cfg.source_only_iters': 0,
        'train_cfg.max_rounds': 1,
        'train_cfg.init_portion': 1.0,
        'train_cfg.portion_step': 1.0,
        'train_cfg.max_portion': 2.0,
        'train_cfg.num_patches': 2,
        'train_cfg.epochs_per_round': 1,
        'train_cfg.pseudo_label_quality': False,
        'train_cfg.target_dataloader.dataset.indices': 24,
        'train_cfg.target_dataloader.batch_size': 8,
        'train_cfg.example_dataloader.batch_size': 2,
        'train_dataloader.batch_size': 2,
        'val_dataloader.dataset.indices': 4,
        'val_dataloader.batch_size': 4,
        'default_hooks.logger.interval': 1,
    })
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'INFO'
    return Runner.from_cfg(cfg)


def _log_text(work_dir):
    logs = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    return ''.join(open(p).read() for p in logs)


def _source_ckpt(path, options=None):
    from mmengine.config import Config

    from mmda.registry import MODELS
    cfg = Config.fromfile(SIE_TOY)
    cfg.merge_from_dict(options or {})
    torch.manual_seed(0)
    # a source-only run's checkpoint: the plain segmentor SIE wraps
    torch.save({'state_dict': MODELS.build(cfg.model.segmentor).state_dict(),
                'meta': {}}, str(path))
    return str(path)


@pytest.mark.slow
def test_sie_train_cfg_max_iters_caps_the_run(tmp_path):
    """Item 5: `train_cfg.max_iters=2` (before: TypeError unexpected keyword
    'max_iters'): two iterations, one validation, a last checkpoint."""
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init = _source_ckpt(tmp_path / 'init.pth')
    runner = _sie_runner(tmp_path / 'w', load_from=init,
                         **{'train_cfg.max_iters': 2})
    runner.train()
    assert runner.iter == 2
    assert runner.train_loop.rounds[0]['num_iters'] > 2
    assert osp.isfile(tmp_path / 'w' / 'iter_2.pth')
    assert 'mIoU' in _log_text(tmp_path / 'w')
    with pytest.raises(ValueError, match='max_iters must be a positive'):
        _sie_runner(tmp_path / 'w2', **{'train_cfg.max_iters': 0}).train()


@pytest.mark.slow
def test_sie_mismatched_load_from_stops_with_an_error(tmp_path):
    """Item 5: a checkpoint of another architecture (before: loaded nothing,
    logged two key lists and self-trained the random model, exit 0)."""
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    other = _source_ckpt(tmp_path / 'other.pth',
                         {'model.segmentor.decode_head.num_classes': 7})
    runner = _sie_runner(tmp_path / 'w', load_from=other)
    with pytest.raises(ValueError, match=r'does not fit the model.*shape.*'
                       r'decode_head.*_source_only\.py'):
        runner.train()
    # wrong keys altogether
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': {'segmentor.backbone.w': torch.zeros(1)}}, bad)
    with pytest.raises(ValueError, match=r'0 of \d+ tensors would load.*'
                       r'missing.*unexpected'):
        _sie_runner(tmp_path / 'w2', load_from=bad).train()
    # the switch allows a partial load
    runner = _sie_runner(tmp_path / 'w3', load_from=bad,
                         **{'train_cfg.check_load_from': False,
                            'train_cfg.max_iters': 1})
    runner.train()
    assert runner.iter == 1


@pytest.mark.slow
def test_sie_round_without_examples_says_why(tmp_path, monkeypatch):
    """Item 5: 24 target images at p = 0.1 -> floor(N_c * 0.1 / 19) = 0 for
    every class: the round must say so. Also item 8: the generation time is
    not the next iteration's data_time."""
    from mmda.engine.loops.self_training_loop import SelfTrainingLoop
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init = _source_ckpt(tmp_path / 'init.pth')
    runner = _sie_runner(tmp_path / 'w', load_from=init,
                         **{'train_cfg.init_portion': 0.1})
    runner.train()
    assert runner.iter == 0
    log = _log_text(tmp_path / 'w')
    assert re.search(r'floor\(N_c \* p / 19\) = 0 at p=0.1 for classes', log)
    assert 'needs N_c >= 190' in log
    assert 'no class selects an image' in log

    # data_time after a (slow) round generation
    original = SelfTrainingLoop._generate_round

    def slow(self, r):
        info = original(self, r)
        time.sleep(4.0)
        return info

    monkeypatch.setattr(SelfTrainingLoop, '_generate_round', slow)
    runner = _sie_runner(tmp_path / 'w2', load_from=init,
                         **{'train_cfg.max_iters': 2})
    runner.train()
    data_time = runner.message_hub.get_scalar('train/data_time').data[0]
    # (the first batch's own loading, ~1.7 s here, is data time; the 4 s
    # of generation are not)
    assert len(data_time) == 2 and max(data_time) < 3.5, data_time


# ---------------------------------------------------------------------------
# item 8: one line for the frozen (teacher) parameters, not one each
# ---------------------------------------------------------------------------
def test_frozen_parameters_make_one_log_line():
    import logging

    import torch.nn as nn
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    import mmda.engine  # noqa: F401  (registers the constructor)

    model = nn.Module()
    model.student = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 2, 1))
    model.teacher = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 2, 1))
    model.teacher.requires_grad_(False)
    logger = MMLogger.get_instance('test_frozen_params', log_level='INFO')
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.INFO)
    logger.addHandler(handler)
    try:
        with DefaultScope.overwrite_default_scope('mmda'):
            ow = build_optim_wrapper(model, dict(
                optimizer=dict(type='SGD', lr=0.1),
                paramwise_cfg=dict(
                    custom_keys={'student.1': dict(lr_mult=10.0)})))
    finally:
        logger.removeHandler(handler)
    msgs = [r.getMessage() for r in records]
    assert not [m for m in msgs if 'is skipped since' in m], msgs
    summary = [m for m in msgs if 'requires_grad=False are not optimised'
               in m]
    assert len(summary) == 1 and summary[0].startswith('4 parameters'), msgs
    assert "'teacher': 4" in summary[0]
    optimised = {id(p) for g in ow.optimizer.param_groups
                 for p in g['params']}
    assert optimised == {id(p) for p in model.student.parameters()}
    assert [g['lr'] for g in ow.optimizer.param_groups] == \
        [0.1, 0.1, 1.0, 1.0]


# ---------------------------------------------------------------------------
# fabricated datasets in their as-downloaded layouts (docs/preparing_data.md)
# ---------------------------------------------------------------------------
def _img(path, w, h, seed=0, ext_jpg=False):
    """A smooth real-size image (fast to encode) with some texture."""
    import cv2
    import numpy as np
    rng = np.random.RandomState(seed)
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    base = (x * rng.rand(3) + y * rng.rand(3)) % 256
    small = rng.randint(0, 60, (h // 16 + 1, w // 16 + 1, 3)).astype(
        np.float32)
    tex = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    img = np.clip(base + tex, 0, 255).astype(np.uint8)
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img)


def _labels(h, w, ids, seed=0):
    """Horizontal bands of the given ids (every image shows every id)."""
    import numpy as np
    out = np.zeros((h, w), np.uint8)
    for i, band in enumerate(np.array_split(np.arange(h), len(ids))):
        out[band] = ids[i]
    return out


def _png(path, arr):
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, arr)


def _fabricate_datasets(root):
    """The six datasets in their as-downloaded layouts, at their real image
    sizes, a few images each (docs/preparing_data.md "Layout")."""
    import json

    import numpy as np
    from PIL import Image
    d = osp.join(root, 'data')
    # GTA5: 1914x1052 RGB, 8-bit palette label ids; 00002's label is 2 rows
    # short (GTA5 has such pairs: the converter resizes them)
    for i, lh in (('00001', 1052), ('00002', 1050)):
        _img(osp.join(d, 'gta', 'images', f'{i}.png'), 1914, 1052, seed=1)
        ids = _labels(lh, 1914, [7, 11, 21, 23, 26, 24])  # CS label ids
        pal = Image.frombytes('P', (1914, lh), ids.tobytes())
        pal.putpalette(np.random.RandomState(0).randint(
            0, 256, 768).astype(np.uint8).tolist())
        os.makedirs(osp.join(d, 'gta', 'labels'), exist_ok=True)
        pal.save(osp.join(d, 'gta', 'labels', f'{i}.png'))
    # SYNTHIA RAND_CITYSCAPES: 1280x760, 16-bit 3-channel labels, class id
    # in red (BGR channel 2)
    for i in ('0000000', '0000001'):
        _img(osp.join(d, 'synthia', 'RGB', f'{i}.png'), 1280, 760, seed=2)
        lab = np.zeros((760, 1280, 3), np.uint16)
        lab[..., 2] = _labels(760, 1280, [3, 2, 6, 1, 8, 10])
        lab[..., 1] = 1234
        _png(osp.join(d, 'synthia', 'GT', 'LABELS', f'{i}.png'), lab)
    # Cityscapes: 2048x1024, gtFine label ids + polygons JSON; the test
    # split too (gtFine_trainvaltest.zip has it, and mmseg's converter
    # lists it)
    cs = osp.join(d, 'cityscapes')
    for split, city, n in (('train', 'aachen', 2), ('val', 'frankfurt', 1),
                           ('test', 'berlin', 1)):
        for k in range(n):
            name = f'{city}_{k:06d}_000019'
            _img(osp.join(cs, 'leftImg8bit', split, city,
                          f'{name}_leftImg8bit.png'), 2048, 1024, seed=3 + k)
            ids = _labels(1024, 2048, [23, 11, 21, 7, 26, 24])
            _png(osp.join(cs, 'gtFine', split, city,
                          f'{name}_gtFine_labelIds.png'), ids)
            polys = dict(imgHeight=1024, imgWidth=2048, objects=[
                dict(label=lab, polygon=[[0, y0], [2047, y0], [2047, y1],
                                         [0, y1]])
                for lab, y0, y1 in (('sky', 0, 170), ('building', 171, 341),
                                    ('vegetation', 342, 512),
                                    ('road', 513, 683), ('car', 684, 853),
                                    ('person', 854, 1023))])
            with open(osp.join(cs, 'gtFine', split, city,
                               f'{name}_gtFine_polygons.json'), 'w') as f:
                json.dump(polys, f)
    # Dark Zurich: 1920x1080 night frames; val night with train-id labels
    dz = osp.join(d, 'dark_zurich')
    for k in range(2):
        _img(osp.join(dz, 'rgb_anon', 'train', 'night', 'GOPR0351',
                      f'GOPR0351_frame_{k:06d}_rgb_anon.png'), 1920, 1080,
             seed=5 + k)
    _img(osp.join(dz, 'rgb_anon', 'val', 'night', 'GOPR0356',
                  'GOPR0356_frame_000321_rgb_anon.png'), 1920, 1080, seed=7)
    _png(osp.join(dz, 'gt', 'val', 'night', 'GOPR0356',
                  'GOPR0356_frame_000321_gt_labelTrainIds.png'),
         _labels(1080, 1920, [10, 2, 8, 0, 13, 255]))
    # Nighttime Driving: 1920x1080 test night with coarse train-id labels
    nd = osp.join(d, 'nighttime_driving')
    _img(osp.join(nd, 'leftImg8bit', 'test', 'night',
                  '0_frame_0001_leftImg8bit.png'), 1920, 1080, seed=8)
    _png(osp.join(nd, 'gtCoarse_daytime_trainvaltest', 'test', 'night',
                  '0_frame_0001_gtCoarse_labelTrainIds.png'),
         _labels(1080, 1920, [10, 2, 8, 0, 13, 255]))
    # BDD100K: 1280x720 JPEGs + the labels JSON (timeofday attribute)
    bdd = osp.join(d, 'bdd100k')
    for split, items in (('train', [('n1', 'night'), ('d1', 'daytime'),
                                    ('n2', 'night')]),
                         ('val', [('v1', 'night')])):
        recs = []
        for k, (name, tod) in enumerate(items):
            _img(osp.join(bdd, 'images', '100k', split, f'{name}.jpg'),
                 1280, 720, seed=9 + k)
            recs.append(dict(name=f'{name}.jpg', labels=[], attributes=dict(
                weather='clear', scene='city street', timeofday=tod)))
        os.makedirs(osp.join(bdd, 'labels'), exist_ok=True)
        with open(osp.join(bdd, 'labels',
                           f'bdd100k_labels_images_{split}.json'), 'w') as f:
            json.dump(recs, f)




# ---------------------------------------------------------------------------
# the documented commands: the slow test runs the docs' own blocks
# ---------------------------------------------------------------------------
PREPARE = ('preparing_data.md', 'Commands')
WEIGHTS = ('pretrained_weights.md', 'The commands in order (from a fresh clone)')


def _doc_commands(doc, heading):
    """The commands of the first ```bash block under ``## heading`` of
    docs/<doc>: comments dropped, continuation lines joined."""
    text = open(osp.join(ROOT, 'docs', doc)).read()
    assert f'\n## {heading}\n' in text, (doc, heading)
    section = text.split(f'\n## {heading}\n', 1)[1].split('\n## ', 1)[0]
    block = re.search(r'```bash\n(.*?)```', section, re.S).group(1)
    cmds, cur = [], ''
    for line in block.splitlines():
        line = re.sub(r'(^|\s)#.*$', '', line).strip()
        if line.endswith('\\'):
            cur += line[:-1].strip() + ' '
        elif line or cur:
            cmds.append((cur + line).strip())
            cur = ''
    return cmds


def test_preparation_block_has_every_step():
    """docs/preparing_data.md "Commands" is what the slow test runs: it
    must hold each dataset's step, and its `pip install` lines only what
    the set-up installs (the [datasets] extra, tools/setup_env.sh)."""
    cmds = _doc_commands(*PREPARE)
    for step in ('python tools/dataset_converters/gta.py data/gta',
                 'python tools/dataset_converters/synthia.py data/synthia',
                 '/.mim/tools/dataset_converters/cityscapes.py '
                 'data/cityscapes',
                 'python tools/misc/make_semi_splits.py cityscapes '
                 'data/cityscapes',
                 'python tools/dataset_converters/bdd100k_night.py '
                 'data/bdd100k'):
        assert any(step in c for c in cmds), (step, cmds)
    pyproject = open(osp.join(ROOT, 'pyproject.toml')).read()
    extra = re.search(r'^datasets = \[([^\]]*)\]', pyproject, re.M).group(1)
    pips = [c for c in cmds if c.startswith('pip ')]
    assert pips, cmds
    for c in pips:
        assert c.startswith('pip install '), c
        for pkg in c.split()[2:]:
            assert f'"{pkg}"' in extra, (pkg, extra)
    setup = open(osp.join(ROOT, 'tools', 'setup_env.sh')).read()
    assert re.search(r'^quiet \$PIP install -q -e "\.\[tests,datasets\]"$',
                     setup, re.M), 'make test installs the [datasets] extra'


@pytest.mark.slow
def test_weights_block_makes_every_named_file():
    """docs/pretrained_weights.md "The commands in order" has a command
    for every weight file a real config names."""
    from mmda.utils.weights import KNOWN_WEIGHTS, iter_weight_files
    cmds = '\n'.join(_doc_commands(*WEIGHTS))
    for rel in _real_configs():
        for key, path in iter_weight_files(_cfg(rel)):
            name = osp.basename(path)
            if name in KNOWN_WEIGHTS:
                assert name in cmds, (rel, key, name)


# The documented overrides (docs/pretrained_weights.md "Shortening a run"),
# the only ones the slow tests pass: one iteration of one image per batch
# (then the validation and the last checkpoint of every config's hooks), no
# worker processes; the mean teacher's second validation domain and SIE's
# loaders likewise, SIE's portion large enough for a few target images and
# one round; tools/test.py's loader.
SHORT = ['train_cfg.max_iters=1', 'train_dataloader.batch_size=1',
         'default_hooks.logger.interval=1',
         'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0',
         'val_dataloader.persistent_workers=False']
MT_SHORT = ['val_cfg.domains.1.dataloader.num_workers=0',
            'val_cfg.domains.1.dataloader.persistent_workers=False']
SIE_SHORT = ['train_cfg.target_dataloader.num_workers=0',
             'train_cfg.example_dataloader.num_workers=0',
             'train_cfg.init_portion=10.0', 'train_cfg.max_portion=10.0',
             'train_cfg.max_rounds=1']
TEST_SHORT = ['test_dataloader.num_workers=0',
              'test_dataloader.persistent_workers=False']
# ClassMix mixes unlabelled image b with b + 1 of its batch: it keeps the
# config's batch of 2 (the doc says so)
PAIR_SHORT = [o for o in SHORT if o != 'train_dataloader.batch_size=1']


def test_short_run_overrides_are_documented():
    """The slow tests pass exactly the doc's smoke-test commands' overrides
    (and its listed extra loaders' ones), nothing else."""
    train, test = _doc_commands('pretrained_weights.md', 'Shortening a run')
    assert train.startswith('python tools/train.py configs/'), train
    assert train.split(' --cfg-options ')[1].split() == SHORT
    assert test.startswith('python tools/test.py configs/'), test
    assert test.split(' --cfg-options ')[1].split() == TEST_SHORT
    text = open(osp.join(ROOT, 'docs', 'pretrained_weights.md')).read()
    section = text.split('\n## Shortening a run\n', 1)[1].split('\n## ')[0]
    words = [w.strip('`;,.') for w in section.split()]
    for option in MT_SHORT + SIE_SHORT:
        assert option in words, option
    assert re.search(r'`classmix/\*`[^.]*batch of 2[^.]*leave out\s+'
                     r'`train_dataloader\.batch_size=1`', section), section


# ---------------------------------------------------------------------------
# the slow end-to-end runs on real-layout data, every config family
# ---------------------------------------------------------------------------
# The real networks (no narrowing override): the weight files are random-init
# state dicts of the configs' own models in the downloaded files' layouts
# (MiT-B5: NVlabs' keys, converted by the documented mit2mmseg.py command),
# written where the configs expect them.
#
# Cost (measured 2026-12-08 on the 2-core development machine shared with
# ~4 other busy processes, OMP_NUM_THREADS=1): the whole slow part about
# 56 min wall; the largest runs are ClassMix (its batch of 2 whole 512x1024
# images: 420 s for the iteration, ~9.7 GB) and ASS-GA (its full-image
# inputs, GTA5 1280x720 + Cityscapes 1024x512 labelled and unlabelled: 400 s,
# ~8 GB). Every run is compute-bound (R101 at output stride 8: ~0.5 TMAC per
# 512x512 crop forward + backward at ~10-12 GMAC/s); beyond the iteration
# each costs a 1024x512 validation (13-45 s; CycleGAN's translation metric
# 143 s) and 30-60 s of start-up and checkpointing.


def _env():
    # `python` of the documented commands is this interpreter; torch threads
    # follow the tools' documented rule (docs/performance.md: cores per
    # process minus dataloader workers, or OMP_NUM_THREADS if it is set), so
    # one training at a time uses the whole machine
    return dict(os.environ, PYTHONPATH=ROOT,
                PATH=osp.dirname(PYTHON) + os.pathsep + os.environ['PATH'])


def _run(cmd, cwd, timeout=1200):
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, ' '.join(map(str, cmd)) + '\n' + \
        out[-6000:]
    return out, time.time() - t0


def _shell(cmd, cwd):
    return _run(['bash', '-euo', 'pipefail', '-c', cmd], cwd)


def _train(cwd, config, work_dir, options):
    return _run([PYTHON, 'tools/train.py', f'configs/{config}',
                 '--work-dir', work_dir, '--cfg-options'] + options, cwd)


def _model_cfg(config, options=()):
    import ast

    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    cfg.merge_from_dict({k: ast.literal_eval(v)
                         for k, v in (o.split('=', 1) for o in options)})
    return cfg.model


def _state(model_cfg):
    from mmda.registry import MODELS
    model_cfg = model_cfg.copy()
    if 'backbone' in model_cfg:
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    else:
        model_cfg.init_cfg = None
    torch.manual_seed(0)
    return MODELS.build(model_cfg).state_dict()


def _mit_to_nvlabs(sd):
    """mmseg MixVisionTransformer keys -> the NVlabs SegFormer release's
    (the inverse of mmseg's tools/model_converters/mit2mmseg.py)."""
    out = {}
    for k, v in sd.items():
        parts = k.split('.')
        stage, part = int(parts[1]) + 1, parts[2]
        if part == '0':
            out[f'patch_embed{stage}.' + '.'.join(parts[3:]).replace(
                'projection.', 'proj.')] = v
        elif part == '2':
            out[f'norm{stage}.' + '.'.join(parts[3:])] = v
        else:
            pre, rest = f'block{stage}.{parts[3]}.', '.'.join(parts[4:])
            if rest.startswith('attn.attn.in_proj_'):
                kind = rest[len('attn.attn.in_proj_'):]
                c = v.shape[0] // 3
                out[f'{pre}attn.q.{kind}'] = v[:c].clone()
                out[f'{pre}attn.kv.{kind}'] = v[c:].clone()
            elif rest.startswith('attn.attn.out_proj.'):
                out[pre + 'attn.proj.' + rest.split('.')[-1]] = v
            elif rest.startswith('ffn.layers.'):
                idx, name = rest.split('.')[2], rest.split('.')[3]
                mod = {'0': 'mlp.fc1', '1': 'mlp.dwconv.dwconv',
                       '4': 'mlp.fc2'}[idx]
                if idx in ('0', '4') and name == 'weight':
                    v = v[:, :, 0, 0]
                out[f'{pre}{mod}.{name}'] = v
            else:
                out[pre + rest] = v
    return out


def _write_standin_weights(root):
    """Random-init stand-ins of every file docs/pretrained_weights.md's
    commands make (the files the configs name), made where and how the
    commands make them where that runs offline."""
    import torchvision
    ck = osp.join(root, 'checkpoints')
    weight_cmds = _doc_commands(*WEIGHTS)
    for cmd in weight_cmds:
        if cmd.startswith('mkdir '):
            _shell(cmd, root)
    # torchvision's ResNet-101 (torchvision://resnet101): a plain state dict
    torch.save(_state(_model_cfg('source_only/gta2city.py').backbone),
               osp.join(ck, 'resnet101-63fe2227.pth'))
    # deeplabv2_coco.py's output: backbone.* + decode_head.* of the segmentor
    torch.save({'state_dict': _state(_model_cfg(
        'dacs/gta2city.py').segmentor), 'meta': {}},
        osp.join(ck, 'deeplabv2_r101_coco_mmda.pth'))
    # mmseg's ResNet-101-V1c (open-mmlab://resnet101_v1c)
    torch.save({'state_dict': _state(_model_cfg(
        'dacs/gta2city_40k.py').segmentor.backbone)},
        osp.join(ck, 'resnet101_v1c-e67eebb6.pth'))
    # MiT-B5 in the NVlabs release's keys -> the documented converter
    mit = _state(_model_cfg('daformer/gta2city.py').segmentor.backbone)
    os.makedirs(osp.join(root, 'pretrained'), exist_ok=True)
    torch.save({'state_dict': _mit_to_nvlabs(mit)},
               osp.join(root, 'pretrained', 'mit_b5.pth'))
    [convert] = [c for c in weight_cmds if 'mit2mmseg.py' in c]
    _shell(convert, root)
    converted = torch.load(osp.join(ck, 'mit_b5_mmseg.pth'))
    assert converted.keys() == mit.keys()
    assert all(torch.equal(converted[k], mit[k]) for k in mit)
    # VGG16 (LargeFOV) for the mean teacher, at its real size
    torch.save({'state_dict': _state(_model_cfg(
        'mean_teacher/cs2night.py').segmentor.backbone)},
        osp.join(ck, 'vgg16_deeplab_largefov_mmda.pth'))
    torch.save({'state_dict': _state(_model_cfg(
        'sie/gta2city_fcn8s_vgg16_source_only.py').backbone)},
        osp.join(ck, 'vgg16_fcn_mmda.pth'))
    # VGG19 features only (the feature loss reads features.N.*)
    vgg19 = torchvision.models.vgg19()
    torch.save({f'features.{k}': v
                for k, v in vgg19.features.state_dict().items()},
               osp.join(ck, 'vgg19-dcbb9e9d.pth'))
    # every file the commands make (but the CycleGAN runs' outputs) is there
    from mmda.utils.weights import KNOWN_WEIGHTS
    for name in KNOWN_WEIGHTS:
        if name in '\n'.join(weight_cmds) and 'cyclegan' not in name:
            assert osp.isfile(osp.join(ck, name)), name


TIMES = {}


@pytest.fixture(scope='module')
def real_root(tmp_path_factory):
    """A folder laid out as the repository root (tools/ and configs/
    linked) with the six datasets in their as-downloaded layouts, prepared
    by docs/preparing_data.md's commands, and the stand-in weights."""
    root = str(tmp_path_factory.mktemp('real_paths'))
    for d in ('tools', 'configs'):
        os.symlink(osp.join(ROOT, d), osp.join(root, d))
    t0 = time.time()
    _fabricate_datasets(root)
    TIMES['fabricate'] = time.time() - t0
    t0 = time.time()
    for cmd in _doc_commands(*PREPARE):
        if cmd.startswith('pip install '):
            # tools/setup_env.sh installs these ([tests,datasets])
            import importlib
            for pkg in cmd.split()[2:]:
                importlib.import_module(pkg)
            continue
        _shell(cmd, root)
    TIMES['prepare'] = time.time() - t0
    data = osp.join(root, 'data')
    assert osp.isfile(osp.join(data, 'gta', 'train.txt'))
    assert osp.isfile(osp.join(data, 'synthia', 'train.txt'))
    assert open(osp.join(data, 'bdd100k', 'night_train.txt')).read(
    ).split() == ['n1', 'n2']
    assert glob.glob(osp.join(data, 'cityscapes', 'splits', '1-8_seed0_*'))
    # mmseg's converter drew the train ids from the polygons
    import cv2
    import numpy as np
    [lab] = glob.glob(osp.join(data, 'cityscapes', 'gtFine', 'val', '*',
                               '*_gtFine_labelTrainIds.png'))
    ids = set(np.unique(cv2.imread(lab, cv2.IMREAD_UNCHANGED)).tolist())
    assert {10, 2, 8, 0, 13, 11} <= ids <= {10, 2, 8, 0, 13, 11, 255}, ids
    t0 = time.time()
    # in a child process: building the real networks here would leave
    # ~0.7 GB in this process, added to every training's peak (ClassMix's
    # is ~9.7 GB)
    _run([PYTHON, '-c', 'import sys\n'
          'from mmda.utils import register_all_modules\n'
          'register_all_modules(init_default_scope=True)\n'
          'from tests.integration.test_real_paths import '
          '_write_standin_weights\n'
          '_write_standin_weights(sys.argv[1])', root], ROOT)
    TIMES['weights'] = time.time() - t0
    yield root
    print('\nend-to-end times (s):',
          {k: round(v, 1) for k, v in TIMES.items()})


@pytest.mark.slow
def test_e2e_source_only_then_test_py(real_root):
    """Source-only DeepLabV2-R101 on GTA5 -> Cityscapes, then tools/test.py
    on its checkpoint."""
    _, TIMES['source_only'] = _train(real_root, 'source_only/gta2city.py',
                                     'work_dirs/so', SHORT)
    ckpt = 'work_dirs/so/iter_1.pth'
    assert osp.isfile(osp.join(real_root, ckpt))
    out, TIMES['test.py'] = _run(
        [PYTHON, 'tools/test.py', 'configs/source_only/gta2city.py', ckpt,
         '--work-dir', 'work_dirs/so_test', '--cfg-options'] + TEST_SHORT,
        real_root)
    assert 'mIoU' in out


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'dacs/gta2city.py', 'dacs/synthia2city.py', 'dacs/gta2city_40k.py',
    'classmix/cityscapes_1-8.py', 'ass/ga_gta2city_all.py',
    'ass/oracle_city_all.py', 'daformer/gta2city.py',
    'mic/daformer_gta2city.py'])
def test_e2e_family(real_root, config):
    """DACS (GTA5, SYNTHIA, the 40k DAFormer recipe), ClassMix, ASS and its
    oracle, DAFormer and MIC: one iteration, a validation, a checkpoint."""
    name = config.replace('/', '_')[:-3]
    out, TIMES[name] = _train(
        real_root, config, f'work_dirs/{name}',
        PAIR_SHORT if config.startswith('classmix/') else SHORT)
    assert 'mIoU' in out, out[-3000:]
    assert osp.isfile(osp.join(real_root, 'work_dirs', name, 'iter_1.pth'))


@pytest.mark.slow
def test_e2e_cyclegan_translate_mean_teacher(real_root):
    """CycleGAN day -> night; its checkpoint is the mean teacher's
    translator (docs/pretrained_weights.md: copied to
    checkpoints/cyclegan_fl_city2night.pth); the offline translated copy
    (docs/preparing_data.md, --scale 0.5)."""
    _, TIMES['cyclegan'] = _train(
        real_root, 'cyclegan/city2night.py', 'work_dirs/city2night',
        SHORT)
    _, TIMES['translate'] = _run(
        [PYTHON, 'tools/translate.py', 'configs/cyclegan/city2night.py',
         'work_dirs/city2night/iter_1.pth',
         '--src', 'data/cityscapes/leftImg8bit/train',
         '--out', 'data/cityscapes_day2night/leftImg8bit/train',
         '--scale', '0.5'], real_root)
    # "cp work_dirs/city2night/iter_700000.pth checkpoints/..." of the doc
    [cp] = [c for c in _doc_commands(*WEIGHTS)
            if c.startswith('cp work_dirs/city2night/')]
    _shell(cp.replace('iter_700000.pth', 'iter_1.pth'), real_root)
    out, TIMES['mean_teacher'] = _train(
        real_root, 'mean_teacher/cs2night.py', 'work_dirs/mt',
        SHORT + MT_SHORT)
    assert 'night' in out


@pytest.mark.slow
def test_e2e_sie_from_its_source_only_run(real_root):
    """SIE: the source-only FCN8s it starts from, then one short round (a
    portion large enough that 2 target images give an example)."""
    _, TIMES['sie_source_only'] = _train(
        real_root, 'sie/gta2city_fcn8s_vgg16_source_only.py',
        'work_dirs/sie_so',
        SHORT)
    out, TIMES['sie'] = _train(
        real_root, 'sie/gta2city_fcn8s_vgg16.py', 'work_dirs/sie',
        SHORT + SIE_SHORT + ['load_from=work_dirs/sie_so/iter_1.pth'])
    assert 'Self-training round 0' in out


@pytest.mark.slow
def test_e2e_dist_train_two_processes(real_root):
    """`bash tools/dist_train.sh CONFIG 2` (two CPU processes over gloo) on
    the cheapest real config."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out, TIMES['dist_train'] = _run(
        ['env', f'PORT={port}', f'PYTHON={PYTHON}', 'bash',
         'tools/dist_train.sh', 'configs/source_only/gta2city.py', '2',
         '--work-dir', 'work_dirs/dist', '--cfg-options'] + SHORT,
        real_root)
    assert osp.isfile(osp.join(real_root, 'work_dirs', 'dist', 'iter_1.pth'))
    assert 'mIoU' in out
