"""Every config under configs/ loads, sits in the _base_ tree and builds its
model; a 5-line user config can change the backbone or the target domain."""
import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmda.registry import MODELS
from tests.helpers import ROOT

CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    if '/_base_/' not in p)


def _fake_generator_checkpoint(translator_cfg, folder):
    """A random-init checkpoint of the configured generator (the real one is
    the output of a CycleGAN run)."""
    import torch
    with DefaultScope.overwrite_default_scope('mmda'):
        gen = MODELS.build(translator_cfg['generator'])
    key = json.dumps(translator_cfg['generator'], sort_keys=True)
    path = osp.join(folder, f'gen_{abs(hash(key))}.pth')
    if not osp.exists(path):
        torch.save(gen.state_dict(), path)
    return path


def _strip_pretrained(obj, folder=None):
    """No downloads in tests: drop pretrained-weight references; point frozen
    generators at fabricated checkpoints."""
    if isinstance(obj, dict) and folder is not None and 'generator' in obj \
            and isinstance(obj.get('checkpoint'), str):
        obj = dict(obj)
        obj['checkpoint'] = _fake_generator_checkpoint(obj, folder)
        obj['generator'] = _strip_pretrained(obj['generator'])
        return obj
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ('pretrained', 'init_cfg') and v is not None:
                out[k] = None
            elif k in ('checkpoint', 'vgg_checkpoint', 'generator_checkpoint') \
                    and isinstance(v, str):
                out[k] = None
            else:
                out[k] = _strip_pretrained(v, folder)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_strip_pretrained(v, folder) for v in obj)
    return obj


def _rel(p):
    return osp.relpath(p, ROOT)


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_config_loads(path):
    cfg = Config.fromfile(path)
    if path.endswith(('_base.py', '_dataset.py')):
        return  # partial pieces (model/schedule/dataset) completed by children
    assert cfg.get('default_scope') == 'mmda', f'{_rel(path)}: default_scope'
    assert 'model' in cfg, f'{_rel(path)}: no model'
    assert 'train_cfg' in cfg and 'optim_wrapper' in cfg, _rel(path)


@pytest.mark.slow
def test_every_model_builds(tmp_path):
    """Build each distinct model config once (many configs share one)."""
    seen = {}
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        if 'model' not in cfg:
            continue
        model_cfg = _strip_pretrained(cfg.model.to_dict(), str(tmp_path))
        key = json.dumps(model_cfg, sort_keys=True, default=str)
        seen.setdefault(key, (path, model_cfg))
    failures = []
    with DefaultScope.overwrite_default_scope('mmda'):
        for path, model_cfg in seen.values():
            if model_cfg.get('type') == 'SegTTAModel':
                continue
            try:
                MODELS.build(model_cfg)
            except Exception as e:  # collect all, report together
                failures.append(f'{_rel(path)}: {type(e).__name__}: {e}')
    assert not failures, '\n'.join(failures)


def test_five_line_user_config(tmp_path):
    user = tmp_path / 'my_dacs.py'
    base = osp.join(ROOT, 'configs/dacs/toy_dacs.py')
    user.write_text(
        f"_base_ = ['{base}']\n"
        "model = dict(segmentor=dict(backbone=dict(depth=34)))\n"
        "train_dataloader = dict(dataset=dict(target=dict(domain='night')))\n"
        "val_dataloader = dict(dataset=dict(domain='night'))\n"
        "test_dataloader = val_dataloader\n")
    cfg = Config.fromfile(str(user))
    assert cfg.train_dataloader.dataset.target.domain == 'night'
    assert cfg.train_dataloader.dataset.source.domain == 'source'
    assert cfg.test_dataloader.dataset.domain == 'night'
    with DefaultScope.overwrite_default_scope('mmda'):
        model = MODELS.build(cfg.model)
    # ResNet-34 has 3 BasicBlocks in stage 1 and 6 in stage 3
    student = model.student
    assert len(student.backbone.layer1) == 3
    assert len(student.backbone.layer3) == 6


@pytest.mark.slow
def test_every_config_keeps_the_runtime_hooks():
    """default_runtime.py's hooks (timer ... and the guards) are in every
    complete config: a config changes single entries, it never replaces the
    block (which would drop the guards from every entry point)."""
    runtime = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'default_runtime.py'))
    names = set(runtime.default_hooks)
    assert {'sanity_check', 'nonfinite_guard', 'norm_stats_guard'} <= names
    missing = []
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        if 'train_cfg' not in cfg:
            continue  # partial piece (model / dataset part)
        lost = names - set(cfg.get('default_hooks', {}))
        if lost:
            missing.append(f'{_rel(path)}: {sorted(lost)}')
    assert not missing, missing


def _dump_tool():
    import importlib.util
    path = osp.join(ROOT, 'tools', 'misc', 'dump_configs.py')
    spec = importlib.util.spec_from_file_location('mmda_dump_configs', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dump_configs_finds_a_changed_merged_config(tmp_path):
    """tools/misc/dump_configs.py (the before/after check of a config
    restructuring): _base_ pieces are not dumped, a refactor that keeps the
    merged dict passes, a tuple turned into a list does not."""
    tool = _dump_tool()
    root = tmp_path / 'repo'
    (root / 'configs' / '_base_').mkdir(parents=True)
    (root / 'configs' / 'm').mkdir()
    base = root / 'configs' / '_base_' / 'b.py'
    cfg = root / 'configs' / 'm' / 'a.py'
    cfg.write_text("x = dict(size=(1, 2), n=[3])\n")
    assert tool.dump_all(str(tmp_path / 'before'), root=str(root)) == 1
    # same merged dict, now through a base
    base.write_text("x = dict(size=(1, 2))\n")
    cfg.write_text("_base_ = '../_base_/b.py'\nx = dict(n=[3])\n")
    tool.dump_all(str(tmp_path / 'same'), root=str(root))
    assert tool.compare(str(tmp_path / 'before'), str(tmp_path / 'same')) \
        == (1, {}, [], [])
    base.write_text("x = dict(size=[1, 2])\n")
    tool.dump_all(str(tmp_path / 'changed'), root=str(root))
    assert tool.compare(str(tmp_path / 'before'),
                        str(tmp_path / 'changed')) == (
        1, {'m__a.json': ['x.size']}, [], [])


def test_dump_configs_ignores_only_the_named_helper_keys(tmp_path):
    """--ignore-keys leaves out a helper key a fragment adds (e.g. `uda`),
    not a change of another key."""
    tool = _dump_tool()
    root = tmp_path / 'repo'
    (root / 'configs' / 'm').mkdir(parents=True)
    cfg = root / 'configs' / 'm' / 'a.py'
    cfg.write_text("x = dict(n=[3, 4])\n")
    tool.dump_all(str(tmp_path / 'before'), root=str(root))
    cfg.write_text("uda = dict(n=1)\nx = dict(n=[3, 5])\n")
    tool.dump_all(str(tmp_path / 'after'), root=str(root))
    before, after = str(tmp_path / 'before'), str(tmp_path / 'after')
    assert tool.compare(before, after)[1] == {'m__a.json': ['uda', 'x.n[1]']}
    assert tool.compare(before, after, ignore_keys=['uda'])[1] == {
        'm__a.json': ['x.n[1]']}


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_config_survives_dump_and_reload(path, tmp_path):
    """tools/train.py writes the merged config to the work dir and a resume
    re-reads it: the dumped text must load to the same dict (the method
    fragments' `_base_.uda` reads and `__` helpers leave no trace)."""
    cfg = Config.fromfile(path, import_custom_modules=False)
    out = tmp_path / 'dumped.py'
    cfg.dump(str(out))
    text = out.read_text()
    assert '_base_' not in text and '__' not in text.replace('__tuple__', '')
    assert Config.fromfile(str(out)).to_dict() == cfg.to_dict()


@pytest.mark.parametrize('fragment,configs', [
    ('dacs', ['dacs/gta2city.py', 'dacs/toy_dacs.py',
              'classmix/cityscapes_1-8.py', 'classmix/voc_1-8.py']),
    ('daformer', ['daformer/gta2city.py', 'daformer/toy_daformer.py',
                  'mic/daformer_gta2city.py', 'mic/toy_daformer_mic.py']),
    ('mean_teacher', ['mean_teacher/cs2night.py', 'mean_teacher/toy_full.py']),
    ('ass', ['ass/ga_csa_gta2city_100.py', 'ass/toy_ga.py']),
])
def test_method_fragment_settings_reach_the_model(fragment, configs):
    """configs/_base_/uda/<method>.py holds the method's settings once; every
    config of the method wraps its network with them (configs/README.md), so
    the model is the fragment's method with the fragment's keys."""
    uda = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'uda', f'{fragment}.py')).uda
    for rel in configs:
        cfg = Config.fromfile(osp.join(ROOT, 'configs', rel))
        assert cfg.model.type == uda.type, rel
        assert set(uda) <= set(cfg.model), (rel, set(uda) - set(cfg.model))
        assert cfg.model.segmentor.type == 'EncoderDecoder', rel
        assert 'backbone' not in cfg.model, rel  # wrapped, not merged
