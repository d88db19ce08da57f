"""Bad input gets a clear error naming the offending file or key and the
expected value (one test per kind of mistake)."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.helpers import ROOT


def _png(path, arr):
    import os
    os.makedirs(osp.dirname(str(path)), exist_ok=True)
    assert cv2.imwrite(str(path), arr)


def _gta_tree(root, n=2, label_size=(64, 128), label_value=0,
              skip_label=()):
    """A tiny converted GTA5 tree: images/NNNNN.png and
    labels/NNNNN_labelTrainIds.png."""
    for i in range(n):
        name = f'{i:05d}'
        _png(root / 'images' / f'{name}.png',
             np.full((64, 128, 3), 100, np.uint8))
        if i in skip_label:
            continue
        lab = np.zeros(label_size, np.uint8)
        lab[:4, :4] = label_value
        _png(root / 'labels' / f'{name}_labelTrainIds.png', lab)


_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


def _gta(root, **kw):
    from mmda.datasets.gta import GTA5Dataset
    return GTA5Dataset(data_root=str(root), ann_file='', pipeline=_PIPELINE,
                       **kw)


def _batch(dataset, n=2):
    from mmengine.dataset import pseudo_collate
    return pseudo_collate([dataset[i] for i in range(n)])


def _tiny_model(num_classes=19):
    from mmda.registry import MODELS
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/models/deeplabv2_tiny.py'))
    cfg.model.decode_head.num_classes = num_classes
    return MODELS.build(cfg.model)


# ----------------------------------------------------------- data on disk
def test_missing_data_root_names_the_folder(tmp_path):
    missing = tmp_path / 'no_gta_here'
    with pytest.raises(FileNotFoundError) as e:
        _gta(missing)
    msg = str(e.value)
    assert str(missing / 'images') in msg and 'Expected layout' in msg


def test_missing_split_file_names_the_file(tmp_path):
    _gta_tree(tmp_path)
    from mmda.datasets.gta import GTA5Dataset
    with pytest.raises(FileNotFoundError) as e:
        GTA5Dataset(data_root=str(tmp_path), ann_file='splits/train.txt',
                    pipeline=_PIPELINE)
    msg = str(e.value)
    assert 'splits/train.txt' in msg and 'split file' in msg
    assert 'one sample name' in msg  # what the file should contain


def test_image_without_label_names_the_label_file(tmp_path):
    _gta_tree(tmp_path, n=3, skip_label=(1, ))
    with pytest.raises(FileNotFoundError) as e:
        _gta(tmp_path)
    msg = str(e.value)
    assert '00001_labelTrainIds.png' in msg and '1 of 3' in msg


def test_label_size_differs_from_image(tmp_path):
    from mmda.engine.hooks.sanity_check_hook import InputError, check_batch
    _gta_tree(tmp_path, label_size=(32, 64))
    batch = _batch(_gta(tmp_path))
    with pytest.raises(InputError) as e:
        check_batch(batch, 19)
    msg = str(e.value)
    assert '00000_labelTrainIds.png' in msg
    assert '(32, 64)' in msg and '(64, 128)' in msg and 'same size' in msg


def test_label_ids_outside_the_class_mapping(tmp_path):
    from mmda.engine.hooks.sanity_check_hook import InputError, check_batch
    # label ids (e.g. raw Cityscapes/GTA ids 26, 33) instead of train ids
    _gta_tree(tmp_path, label_value=33)
    batch = _batch(_gta(tmp_path))
    with pytest.raises(InputError) as e:
        check_batch(batch, 19)
    msg = str(e.value)
    assert '00000_labelTrainIds.png' in msg and '[33]' in msg
    assert '0..18 or 255' in msg
    # valid train ids and ignore pass; so does the unlabelled target half
    good = tmp_path / 'good'
    _gta_tree(good, label_value=255)
    ok = _batch(_gta(good))
    check_batch(dict(ok, target_inputs=ok['inputs'],
                     target_data_samples=ok['data_samples']), 19)
    # ... but the target half is checked too when it carries labels
    with pytest.raises(InputError, match='00001_labelTrainIds.png'):
        check_batch(dict(ok, target_inputs=batch['inputs'][1:],
                         target_data_samples=batch['data_samples'][1:]), 19)


def test_sanity_hook_stops_training_on_a_bad_batch(tmp_path):
    """The hook in a Runner: the bad label file is named before the loss
    (which would only say ``Target 33 is out of bounds``)."""
    from mmengine.runner import Runner
    _gta_tree(tmp_path / 'data', n=2, label_value=33)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/source_only/toy_source_only.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = 'test_bad_input_hook'
    cfg.visualizer.name = cfg.experiment_name
    cfg.train_dataloader = dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='GTA5Dataset', data_root=str(tmp_path / 'data'),
                     ann_file='', pipeline=_PIPELINE))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1,
                         val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.custom_hooks = [dict(type='SanityCheckHook')]
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'00000_labelTrainIds\.png.*\[33\]'):
        runner.train()


# ------------------------------------------------------------------ config
def test_unregistered_type_is_named():
    from mmda.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dacs/toy_dacs.py'))
    cfg.model.mix.type = 'NoSuchMix'
    with pytest.raises(KeyError, match='NoSuchMix'):
        MODELS.build(cfg.model)


def test_uda_config_without_target_dataset():
    from mmda.registry import DATASETS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dacs/toy_dacs.py'))
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'UDADataset'
    ds.pop('target')
    with pytest.raises(KeyError) as e:
        DATASETS.build(ds)
    msg = str(e.value)
    assert 'missing `target`' in msg and 'train_dataloader.dataset' in msg


def test_training_config_missing_required_key(tmp_path):
    from mmda.utils.config import ConfigError, check_config
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dacs/toy_dacs.py'))
    cfg.pop('optim_wrapper')
    with pytest.raises(ConfigError, match=r"toy_dacs.py: missing required "
                       r"key\(s\) \['optim_wrapper'\]"):
        check_config(cfg, 'configs/dacs/toy_dacs.py')


# -------------------------------------------------------- crops and sizes
def test_patch_larger_than_image_where_sie_cannot_pad():
    """Scale-invariant examples cut patches out of the image and upsample
    them: a patch larger than the image cannot be cut (no padding)."""
    from mmda.models.uda.sie_patches import sample_patch_boxes
    with pytest.raises(ValueError) as e:
        sample_patch_boxes(64, 128, 128, 256, 4,
                           torch.Generator().manual_seed(0))
    msg = str(e.value)
    assert 'patch_size (128, 256)' in msg and 'image (64, 128)' in msg


def test_mixing_needs_source_and_target_of_one_size():
    """DACS mixes source and target pixel by pixel. A crop larger than the
    target images (mmseg's RandomCrop silently clips it) is padded back to
    the crop by the data preprocessor when it has a ``size``; without one the
    method cannot pad and refuses the batch naming both sizes."""
    from mmda.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/dacs/toy_dacs.py'))
    cfg.model.segmentor.data_preprocessor.size = None
    cfg.model.segmentor.data_preprocessor.size_divisor = 1
    model = MODELS.build(cfg.model)
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    from mmengine.optim import OptimWrapper

    def samples(h, w, n=2):
        out = []
        for _ in range(n):
            s = SegDataSample()
            s.gt_sem_seg = PixelData(data=torch.zeros(1, h, w,
                                                      dtype=torch.long))
            s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w),
                                pad_shape=(h, w)))
            out.append(s)
        return out

    data = dict(
        inputs=[torch.zeros(3, 64, 128, dtype=torch.uint8)] * 2,
        data_samples=samples(64, 128),
        target_inputs=[torch.zeros(3, 32, 64, dtype=torch.uint8)] * 2,
        target_data_samples=samples(32, 64))
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    with pytest.raises((ValueError, RuntimeError)) as e:
        model.train_step(data, ow)
    msg = str(e.value)
    assert '64' in msg and '32' in msg
    assert isinstance(e.value, ValueError), (
        f'expected a ValueError naming both sizes, got {e.value!r}')


# ----------------------------------------------------------- num_classes
def test_num_classes_model_vs_data():
    from mmda.engine.hooks.sanity_check_hook import (InputError,
                                                     check_num_classes)
    model = _tiny_model(num_classes=7)
    classes = [f'c{i}' for i in range(19)]
    with pytest.raises(InputError) as e:
        check_num_classes(model, classes)
    msg = str(e.value)
    assert 'predicts 7 classes' in msg and 'has 19 classes' in msg
    assert 'model.decode_head.num_classes' in msg
    check_num_classes(_tiny_model(19), classes)  # consistent: no error


def test_num_classes_model_vs_discriminators():
    from mmda.engine.hooks.sanity_check_hook import (InputError,
                                                     check_num_classes)
    from mmda.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/ass/toy_ga_csa.py'))
    # the output-space discriminator configured for a 7-class model
    cfg.model.global_discriminator.in_channels = 7
    model = MODELS.build(cfg.model)
    with pytest.raises(InputError) as e:
        check_num_classes(model)
    msg = str(e.value)
    assert 'global_discriminator.in_channels=19' in msg and '7' in msg
    # the semantic discriminator is checked where it is built (ASS)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/ass/toy_ga_csa.py'))
    cfg.model.semantic_discriminator.num_classes = 7
    with pytest.raises(ValueError, match='num_classes=7 differs'):
        MODELS.build(cfg.model)


# ------------------------------------------------------- generator weights
def test_generator_checkpoint_that_does_not_fit(tmp_path):
    from mmda.registry import MODELS
    big = dict(type='ResnetGenerator', base_channels=16, num_blocks=1,
               upsample_mode='bilinear_conv', norm_cfg=dict(type='IN'))
    small = dict(big, base_channels=8)
    ckpt = tmp_path / 'gen16.pth'
    gen = MODELS.build(big)
    torch.save({'state_dict': {f'gen_a2b_ema.{k}': v
                               for k, v in gen.state_dict().items()}}, ckpt)
    with pytest.raises((ValueError, KeyError)) as e:
        MODELS.build(dict(type='Day2NightTranslator', generator=small,
                          checkpoint=str(ckpt)))
    msg = str(e.value)
    assert 'gen16.pth' in msg and 'does not fit' in msg
    # the good checkpoint loads
    t = MODELS.build(dict(type='Day2NightTranslator', generator=big,
                          checkpoint=str(ckpt)))
    for k, v in gen.state_dict().items():
        assert torch.equal(t.generator.state_dict()[k], v)
