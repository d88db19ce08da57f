"""Real paths end to end (issue 14): the weights every real config needs,
errors that name the file / key / command, schedules shortened with one
override, SIE's loop contract, file modes and logs.

The fast tests run on every ``pytest``; ``test_real_configs_end_to_end`` (at
the bottom) is marked ``slow``: it fabricates every dataset in its
as-downloaded layout and runs ``tools/train.py`` + ``tools/test.py`` for each
real config family.
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

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
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
        check_weight_files(_cfg('mean_teacher/cs2night.py'), init=False,
                           root=str(tmp_path))
    msg = str(e.value)
    assert 'cyclegan_fl_city2night.pth' in msg
    assert 'model.translator.checkpoint' in msg
    assert 'python tools/train.py configs/cyclegan/city2night.py' in msg
    assert 'vgg16_deeplab_largefov' not in msg  # init file: training only
    # training: every missing file in one error
    with pytest.raises(PretrainedWeightsError) as e:
        check_weight_files(_cfg('mean_teacher/cs2night.py'),
                           root=str(tmp_path))
    msg = str(e.value)
    assert 'vgg16_deeplab_largefov_mmda.pth' in msg
    assert 'tools/model_converters/vgg16_torchvision.py' in msg
    assert 'cyclegan_fl_city2night.pth' in msg


def test_load_time_errors_name_the_run_and_key(tmp_path):
    from mmda.models.translators.inference import load_generator_weights
    from mmda.models.translators.losses import load_vgg_features
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
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(),
                'meta': {}}, str(path))
    return str(path)


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


def test_sie_mismatched_load_from_stops_with_an_error(tmp_path):
    """Item 5: a checkpoint of another architecture (before: loaded nothing,
    logged two key lists and self-trained the random model, exit 0)."""
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    other = _source_ckpt(tmp_path / 'other.pth',
                         {'model.decode_head.num_classes': 7})
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
