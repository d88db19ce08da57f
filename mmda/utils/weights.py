"""The pretrained weight files the configs name, and a check that they exist.

Every real config initialises from local files under ``checkpoints/``
(nothing is downloaded at run time unless the config sets
``allow_weight_download=True``). :func:`check_weight_files` walks a config for
the keys that name such files (``init_cfg`` of type ``Pretrained``,
``pretrained``, ``vgg_checkpoint``, the ``checkpoint`` of a translator or of
the ``Day2Night`` transform) and stops before anything is built when one is
missing, with an error naming the file, the config key that sets it (to pass
to ``--cfg-options``) and how to obtain it (``docs/pretrained_weights.md``).
"""
import os.path as osp
from typing import Any, Iterator, List, Optional, Tuple

# file name -> (what it is, how to obtain it). The same list, with the configs
# that use each file, is docs/pretrained_weights.md.
KNOWN_WEIGHTS = {
    'resnet101-63fe2227.pth': (
        "torchvision's ImageNet ResNet-101 (IMAGENET1K_V1), the backbone "
        'init of configs/_base_/models/deeplabv2_r101.py',
        'mkdir -p checkpoints && wget -P checkpoints '
        'https://download.pytorch.org/models/resnet101-63fe2227.pth '
        '(or copy ~/.cache/torch/hub/checkpoints/resnet101-63fe2227.pth)'),
    'resnet101_v1c-e67eebb6.pth': (
        "mmseg's ImageNet ResNet-101-V1c (the file open-mmlab://resnet101_v1c "
        'names), the backbone init of configs/dacs/gta2city_40k.py '
        "(DAFormer's recipe)",
        'mkdir -p checkpoints && wget -P checkpoints '
        'https://download.openmmlab.com/pretrain/third_party/'
        'resnet101_v1c-e67eebb6.pth'),
    'mit_b5_mmseg.pth': (
        "SegFormer's ImageNet-1k MiT-B5 (NVlabs release, mit_b5.pth) in "
        "mmseg's layout, the encoder init of configs/daformer/* and "
        'configs/mic/* (docs/daformer_mic.md)',
        'python $(python -c "import mmseg, os; '
        'print(os.path.dirname(mmseg.__file__))")'
        '/.mim/tools/model_converters/mit2mmseg.py '
        'pretrained/mit_b5.pth checkpoints/mit_b5_mmseg.pth '
        '(mmseg ships the converter; docs/pretrained_weights.md)'),
    'deeplabv2_r101_coco_mmda.pth': (
        'the COCO-pretrained DeepLabV2-ResNet101 of AdaptSegNet/DACS in mmda '
        'layout (configs/_base_/models/deeplabv2_r101_coco.py)',
        'download DeepLab_resnet_pretrained_init-f81d91e8.pth (AdaptSegNet: '
        'http://vllab.ucmerced.edu/ytsai/CVPR18/'
        'DeepLab_resnet_pretrained_init-f81d91e8.pth), then '
        'python tools/model_converters/deeplabv2_coco.py '
        'DeepLab_resnet_pretrained_init-f81d91e8.pth '
        'checkpoints/deeplabv2_r101_coco_mmda.pth'),
    'vgg16_deeplab_largefov_mmda.pth': (
        "torchvision's ImageNet VGG16 converted to DeepLab-LargeFOV "
        '(configs/_base_/models/deeplabv2_vgg16.py)',
        'wget https://download.pytorch.org/models/vgg16-397923af.pth, then '
        'python tools/model_converters/vgg16_torchvision.py '
        'vgg16-397923af.pth checkpoints/vgg16_deeplab_largefov_mmda.pth '
        '--fc deeplab'),
    'vgg16_fcn_mmda.pth': (
        "torchvision's ImageNet VGG16 converted to FCN-8s "
        '(configs/_base_/models/fcn8s_vgg16.py)',
        'wget https://download.pytorch.org/models/vgg16-397923af.pth, then '
        'python tools/model_converters/vgg16_torchvision.py '
        'vgg16-397923af.pth checkpoints/vgg16_fcn_mmda.pth --fc fcn'),
    'vgg19-dcbb9e9d.pth': (
        "torchvision's ImageNet VGG19, the fixed feature network of the "
        'CycleGAN feature loss (configs/cyclegan/city2night.py)',
        'mkdir -p checkpoints && wget -P checkpoints '
        'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    'cyclegan_fl_city2night.pth': (
        'the day->night CycleGAN (+ feature loss) trained by '
        'configs/cyclegan/city2night.py: the mean-teacher configs translate '
        'with its EMA generator',
        'python tools/train.py configs/cyclegan/city2night.py, then '
        'cp work_dirs/city2night/iter_700000.pth '
        'checkpoints/cyclegan_fl_city2night.pth (or point the key at the '
        "CycleGAN run's last checkpoint)"),
    'cyclegan_city2night.pth': (
        'the day->night CycleGAN without feature loss, trained by '
        'configs/cyclegan/city2night.py with model.feature_loss=None: '
        'configs/mean_teacher/cs2night_d2n_cyclegan.py translates with it',
        'python tools/train.py configs/cyclegan/city2night.py --work-dir '
        'work_dirs/city2night_nofl --cfg-options model.feature_loss=None, '
        'then cp work_dirs/city2night_nofl/iter_700000.pth '
        'checkpoints/cyclegan_city2night.pth'),
}

REMOTE_PREFIXES = ('http://', 'https://', 'torchvision://', 'open-mmlab://',
                   'openmmlab://', 'mmcls://', 'mmpretrain://', 'pavi://',
                   's3://')
# remote names of mmengine/mmcv -> the file they download
REMOTE_FILES = {
    'torchvision://resnet101': 'resnet101-63fe2227.pth',
    'open-mmlab://resnet101_v1c': 'resnet101_v1c-e67eebb6.pth',
    'torchvision://vgg16': 'vgg16-397923af.pth',
    'torchvision://vgg19': 'vgg19-dcbb9e9d.pth',
}
# keys whose string value is a weight file
_FILE_KEYS = ('vgg_checkpoint', )
# ``checkpoint`` is a weight file in a Pretrained init_cfg and in these types
_CHECKPOINT_TYPES = ('Pretrained', 'Day2NightTranslator', 'Day2Night')
# top-level keys the runner builds from (helper variables of a config, such
# as cs2night.py's `translator`, are only read through these)
_RUNNER_TOP = ('model', 'train_dataloader', 'val_dataloader',
               'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg')


class PretrainedWeightsError(FileNotFoundError):
    """A pretrained weight file named by a config is missing, or would be
    downloaded at run time."""


def describe(path: str) -> Tuple[Optional[str], Optional[str]]:
    """``(what it is, how to obtain it)`` of a known file, else Nones."""
    return KNOWN_WEIGHTS.get(osp.basename(str(path)), (None, None))


def missing_message(path: str, key: Optional[str] = None) -> str:
    """The error text for a missing weight file ``path`` set by ``key``."""
    what, how = describe(path)
    msg = f'Pretrained weights not found: {path!r}'
    if key:
        msg += f' (set by the config key {key})'
    msg += '.'
    if what:
        msg += f' It is {what}.'
    if how:
        msg += f' Obtain it with: {how}.'
    if key:
        msg += (f' Or point the key at your copy: --cfg-options '
                f'{key}=/path/to/{osp.basename(str(path))}.')
    msg += ' See docs/pretrained_weights.md.'
    return msg


def iter_weight_files(cfg: Any, init: bool = True,
                      prefix: str = '') -> Iterator[Tuple[str, str]]:
    """``(config key, path)`` of every weight file named in ``cfg``.

    Args:
        cfg: a Config or (nested) dict/list.
        init (bool): include initialisation weights (``Pretrained``
            init_cfg, ``pretrained``), which only training loads; the
            translator / transform / VGG feature files are always included
            (they are loaded when the model or dataset is built).
    """
    if not isinstance(cfg, (dict, list, tuple)) and hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()  # an mmengine Config
    if isinstance(cfg, dict):
        items = list(cfg.items())
        typ = cfg.get('type')
        for k, v in items:
            if not prefix and 'model' in cfg and k not in _RUNNER_TOP:
                continue  # a whole config: only what the runner builds
            key = f'{prefix}{k}'
            if isinstance(v, str):
                if k in _FILE_KEYS or (k == 'checkpoint'
                                       and typ in _CHECKPOINT_TYPES):
                    if typ == 'Pretrained' and not init:
                        continue
                    yield key, v
                elif k == 'pretrained' and init:
                    yield key, v
            elif isinstance(v, (dict, list, tuple)):
                yield from iter_weight_files(v, init, key + '.')
    elif isinstance(cfg, (list, tuple)):
        for i, v in enumerate(cfg):
            yield from iter_weight_files(v, init, f'{prefix}{i}.')


def check_weight_files(cfg: Any, init: bool = True,
                       root: Optional[str] = None) -> List[Tuple[str, str]]:
    """Raise :class:`PretrainedWeightsError` listing every weight file of
    ``cfg`` that is missing (naming the file, its key and how to get it) or
    remote while ``cfg.allow_weight_download`` is not set.

    Relative paths are taken from the current folder (as mmengine loads
    them), or from ``root`` when given. Returns the ``(key, path)`` pairs
    checked.
    """
    allow_download = bool(cfg.get('allow_weight_download', False)) \
        if hasattr(cfg, 'get') else False
    found = list(iter_weight_files(cfg, init=init))
    problems = []
    for key, path in found:
        if path.startswith(REMOTE_PREFIXES):
            if allow_download:
                continue
            local = REMOTE_FILES.get(path, '<file>.pth')
            how = describe(local)[1]
            problems.append(
                f'The config key {key} = {path!r} would download weights at '
                'run time. Download them once'
                f'{f" ({how})" if how else ""} and point the key at the '
                f'local file (--cfg-options {key}=checkpoints/{local}), or '
                'set allow_weight_download=True to allow the download. See '
                'docs/pretrained_weights.md.')
            continue
        full = path if root is None or osp.isabs(path) else osp.join(
            root, path)
        if not osp.isfile(full):
            problems.append(missing_message(path, key))
    if len(problems) == 1:
        raise PretrainedWeightsError(problems[0])
    if problems:
        raise PretrainedWeightsError(
            f'{len(problems)} pretrained weight files are missing:\n' +
            '\n'.join(f'- {p}' for p in problems))
    return found
