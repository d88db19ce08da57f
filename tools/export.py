"""Export a trained UDA model as a plain MMSegmentation model.

    python tools/export.py CONFIG CHECKPOINT OUT_DIR [--model student|teacher]

writes ``OUT_DIR/<config name>_<model>.py`` and ``.pth``: an mmseg
``EncoderDecoder`` config (``default_scope='mmseg'``, no UDA wrapper, no
training keys, no ``custom_imports``) and a checkpoint holding only that
network's weights (plus the dataset meta information of the training
checkpoint). They load with mmseg's own tools::

    from mmseg.apis import init_model, inference_model
    model = init_model('OUT_DIR/toy_dacs_student.py', 'OUT_DIR/toy_dacs_student.pth', device='cpu')
    result = inference_model(model, 'image.png')

and work with mmseg's ``tools/test.py``, ``MMSegInferencer`` (default
scope) and mmdeploy like any mmseg model.

Which network: by default the one the method reports (the config's
``model.eval_model``): the student for DACS, ASS, SIE and the source-only
runs, the EMA teacher for the mean-teacher domain extension (Scherer et al.
evaluate the teacher). ``--model`` overrides it.

mmda modules the exported config still needs: the model's backbone and
head types that only mmda registers are written with the ``mmda.`` scope
prefix (e.g. ``type='mmda.DLV2Head'``), so mmengine imports ``mmda`` when it
builds them; the ``mmda`` package must then be installed (nothing else of
it is used). They are:

* ``DLV2Head`` - the DeepLabV2 ASPP classifier (every DeepLabV2 config,
  toy included);
* ``DeepLabResNet`` - the Caffe-style ResNet-101 of the COCO-pretrained
  DeepLabV2 (``configs/_base_/models/deeplabv2_r101_coco.py``);
* ``VGG16`` and ``FCN8sHead`` - the VGG16 DeepLab-LargeFOV / FCN8s models
  (``deeplabv2_vgg16.py``, ``fcn8s_vgg16.py``).

Backbones such as mmseg's ``ResNet`` (``deeplabv2_r101.py``, the toy model)
need nothing from mmda. The test/val dataloaders are copied too; when they
read an mmda dataset (e.g. the toy benchmark's ``ToySegDataset``) that type
is scoped the same way. The command prints the scoped types it wrote.
"""
import argparse
import copy
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

#: Keys of the source config carried into the exported one (testing,
#: visualisation and logging; training keys are left out).
KEPT_KEYS = ('test_pipeline', 'val_dataloader', 'test_dataloader',
             'val_evaluator', 'test_evaluator', 'val_cfg', 'test_cfg',
             'default_hooks', 'env_cfg', 'vis_backends', 'visualizer',
             'log_processor', 'log_level', 'tta_model', 'tta_pipeline')


def _mmda_types() -> set:
    """Names registered by mmda itself (not inherited from mmseg)."""
    import mmda.registry as reg
    from mmengine.registry import Registry
    names = set()
    for obj in vars(reg).values():
        if isinstance(obj, Registry) and obj.scope == 'mmda':
            obj.import_from_location()
            names.update(obj.module_dict)
    return names


def scope_mmda_types(obj, names: set, found: Optional[List[str]] = None):
    """Copy of ``obj`` with every ``type='X'`` of an mmda-registered X
    written as ``'mmda.X'`` (found names are appended to ``found``)."""
    if isinstance(obj, dict):
        out = {k: scope_mmda_types(v, names, found) for k, v in obj.items()}
        t = out.get('type')
        if isinstance(t, str) and '.' not in t and t in names:
            out['type'] = f'mmda.{t}'
            if found is not None and t not in found:
                found.append(t)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(scope_mmda_types(v, names, found) for v in obj)
    return obj


def _drop_pretrained_init(obj):
    """The weights come from the exported checkpoint: no ``pretrained`` /
    ``init_cfg=dict(type='Pretrained')`` downloads at build time."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == 'pretrained':
                v = None
            elif k == 'init_cfg' and isinstance(v, dict) and \
                    v.get('type') == 'Pretrained':
                v = None
            else:
                v = _drop_pretrained_init(v)
            out[k] = v
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_drop_pretrained_init(v) for v in obj)
    return obj


def exported_model_cfg(cfg, config_path: str, which: str) -> dict:
    """The plain mmseg model config of ``which`` network of a UDA config."""
    model = cfg.get('model', None)
    if not isinstance(model, dict) or 'segmentor' not in model:
        raise ValueError(
            f'{config_path}: model.type is '
            f'{(model or {}).get("type")!r}, which has no `segmentor`; '
            'tools/export.py takes a UDA segmentor config (DACS, '
            'MeanTeacher, ASS, BaseUDASegmentor, ...); a plain mmseg config '
            'needs no export')
    teacher = model.get('teacher', False)
    if which == 'teacher' and not teacher:
        raise ValueError(f'{config_path}: --model teacher, but model.teacher '
                         f'is {teacher!r} (this method has no teacher)')
    seg = teacher if which == 'teacher' and isinstance(teacher, dict) \
        else model['segmentor']
    seg = copy.deepcopy(seg.to_dict() if hasattr(seg, 'to_dict')
                        else dict(seg))
    if not seg.get('data_preprocessor'):
        dp = model.get('data_preprocessor') or cfg.get('data_preprocessor')
        if not dp:
            raise ValueError(
                f'{config_path}: neither model.segmentor.data_preprocessor, '
                'model.data_preprocessor nor data_preprocessor is set; the '
                'exported model needs its normalisation')
        seg['data_preprocessor'] = dict(dp)
    dp = dict(seg['data_preprocessor'])
    if dp.get('type') in (None, 'UDADataPreProcessor',
                          'mmda.UDADataPreProcessor'):
        # same arguments; the UDA version only adds the target half
        dp['type'] = 'SegDataPreProcessor'
    seg['data_preprocessor'] = dp
    return _drop_pretrained_init(seg)


def network_state_dict(checkpoint: dict, which: str,
                       ckpt_path: str) -> Dict[str, object]:
    """The ``student.*`` or ``teacher.*`` weights, prefix removed."""
    state = checkpoint.get('state_dict', checkpoint)
    pattern = re.compile(rf'^{which}\.(module\.)?')
    out = {pattern.sub('', k): v for k, v in state.items()
           if pattern.match(k)}
    if not out:
        prefixes = sorted({k.split('.')[0] for k in state})
        raise ValueError(
            f'{ckpt_path}: no `{which}.*` weights in the checkpoint (its '
            f'top-level keys: {prefixes[:10]}); is it a checkpoint of this '
            'UDA config?')
    return out


def export(config: str, checkpoint: str, out_dir: str,
           model: Optional[str] = None) -> Tuple[str, str, List[str]]:
    """Write the plain mmseg config and checkpoint; returns their paths and
    the mmda types the config still names."""
    import torch
    from mmengine.config import Config
    from mmengine.runner.checkpoint import _load_checkpoint

    import mmda  # noqa: F401  (registers mmda, allows mmengine checkpoints)
    from mmda.utils.checkpoint import check_checkpoint_file
    from mmda.utils.config import load_config

    cfg = load_config(config)
    which = model or cfg.model.get('eval_model', 'student')
    if which not in ('student', 'teacher'):
        raise ValueError(f"--model must be 'student' or 'teacher', "
                         f'got {which!r}')
    seg_cfg = exported_model_cfg(cfg, config, which)
    check_checkpoint_file(checkpoint)
    ckpt = _load_checkpoint(checkpoint, map_location='cpu')
    state = network_state_dict(ckpt, which, checkpoint)

    names = _mmda_types()
    found: List[str] = []
    out = dict(default_scope='mmseg',
               model=scope_mmda_types(seg_cfg, names, found))
    from mmda.registry import HOOKS as MMDA_HOOKS
    for key in KEPT_KEYS:
        if cfg.get(key, None) is not None:
            value = cfg[key]
            value = value.to_dict() if hasattr(value, 'to_dict') else value
            if key == 'default_hooks':
                # mmda's training guards (sanity check, non-finite and
                # norm-statistics guards) watch UDA training, not a test run
                value = {k: v for k, v in value.items()
                         if not (isinstance(v, dict) and
                                 v.get('type') in MMDA_HOOKS.module_dict)}
            out[key] = scope_mmda_types(copy.deepcopy(value), names, found)
    out['load_from'] = None
    out['resume'] = False

    # the weights must fit the exported architecture exactly
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        net = MODELS.build(copy.deepcopy(out['model']))
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f'{checkpoint}: the {which} weights do not fit the exported '
            f'model (missing {missing[:5]}, unexpected {unexpected[:5]})')

    os.makedirs(out_dir, exist_ok=True)
    stem = f'{osp.splitext(osp.basename(config))[0]}_{which}'
    cfg_path = osp.join(out_dir, f'{stem}.py')
    ckpt_path = osp.join(out_dir, f'{stem}.pth')
    header = (f'# Plain mmseg config exported by mmda tools/export.py from\n'
              f'# {config} ({which}) and {checkpoint}.\n')
    if found:
        header += ('# Types from mmda (importing mmda registers them): '
                   + ', '.join(f'mmda.{t}' for t in found) + '\n')
    text = Config(out).pretty_text
    with open(cfg_path, 'w') as f:
        f.write(header + text)
    meta = dict(mmda_export=dict(config=config, checkpoint=checkpoint,
                                 model=which))
    src_meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    if src_meta.get('dataset_meta') is not None:
        meta['dataset_meta'] = src_meta['dataset_meta']
    tmp = ckpt_path + '.tmp'
    torch.save(dict(meta=meta, state_dict=state), tmp)
    os.replace(tmp, ckpt_path)
    return cfg_path, ckpt_path, found


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='the UDA config the model was trained with')
    p.add_argument('checkpoint', help='its checkpoint (e.g. iter_600.pth)')
    p.add_argument('out_dir', help='folder for the exported .py and .pth')
    p.add_argument('--model', choices=('student', 'teacher'), default=None,
                   help="network to export; default: the config's "
                   'model.eval_model (the one the method reports)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg_path, ckpt_path, found = export(args.config, args.checkpoint,
                                        args.out_dir, args.model)
    print(f'config:     {cfg_path}\ncheckpoint: {ckpt_path}')
    if found:
        print('mmda types still named (mmda must be installed): '
              + ', '.join(found))
    else:
        print('no mmda types: the export runs on mmseg alone')
    return 0


if __name__ == '__main__':
    sys.exit(main())
