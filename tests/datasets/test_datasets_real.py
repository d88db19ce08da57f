"""Real-dataset classes and configs on tiny fabricated copies of the layouts:
GTA5Dataset, SynthiaDataset, BDD100KNightDataset, and the configs of
configs/_base_/datasets/ (incl. mmseg's Cityscapes / Dark Zurich / Nighttime
Driving datasets)."""
import copy
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.datasets import CityscapesDataset
from PIL import Image

from mmda.registry import DATASETS
from tests.helpers import ROOT
from tests.tools.dataset_converters import test_dataset_converters as conv

CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'datasets')


def cfg_of(name):
    return Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))


def build(dataset_cfg, data_root):
    if hasattr(dataset_cfg, 'to_dict'):
        dataset_cfg = dataset_cfg.to_dict()
    cfg = copy.deepcopy(dataset_cfg)
    cfg['data_root'] = data_root
    return DATASETS.build(cfg)


def save_rgb(path, h, w, value=None, seed=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if value is None:
        rgb = np.random.RandomState(seed).randint(0, 256, (h, w, 3), np.uint8)
    else:
        rgb = np.full((h, w, 3), value, np.uint8)
    Image.fromarray(rgb).save(path)


def save_train_ids(path, ids):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(ids, np.uint8)).save(path)


def test_metainfo_is_cityscapes():
    from mmda.datasets.bdd100k import BDD100KNightDataset
    from mmda.datasets.gta import GTA5Dataset
    from mmda.datasets.synthia import SynthiaDataset
    for cls in (GTA5Dataset, SynthiaDataset, BDD100KNightDataset):
        assert cls.METAINFO == CityscapesDataset.METAINFO
        assert len(cls.METAINFO['classes']) == 19


# --------------------------------------------------------------------------
# GTA5
# --------------------------------------------------------------------------
def test_gta5_dataset_and_config_pipeline(tmp_path):
    root = conv.make_gta(str(tmp_path / 'gta'))
    from mmda.datasets.gta import convert_gta5
    convert_gta5(root)
    cfg = cfg_of('gta')
    assert cfg.gta_train_dataloader.dataset.ann_file == 'train.txt'
    ds = build(cfg.gta_train_dataset, root)
    assert type(ds).__name__ == 'GTA5Dataset' and len(ds) == 2
    info = ds.get_data_info(1)
    assert info['img_path'] == osp.join(root, 'images', '00002.png')
    assert info['seg_map_path'] == osp.join(root, 'labels',
                                            '00002_labelTrainIds.png')
    assert ds.metainfo['classes'] == CityscapesDataset.METAINFO['classes']
    out = ds[1]  # resize 8x6 -> 960x720, 512x512 crop, flip, pack
    assert out['inputs'].shape == (3, 512, 512)
    gt = out['data_samples'].gt_sem_seg.data
    assert gt.shape == (1, 512, 512)
    assert set(torch.unique(gt).tolist()) <= {0, 13, 255}
    # scan mode (every image) gives the same samples here
    ds2 = build(dict(cfg.gta_train_dataset, ann_file=''), root)
    assert [d['img_path'] for d in ds2.load_data_list()] == \
        [d['img_path'] for d in ds.load_data_list()]


def test_gta5_dataset_errors(tmp_path):
    from mmda.datasets.gta import GTA5Dataset
    root = conv.make_gta(str(tmp_path / 'gta'))
    # not converted yet: no split file, no *_labelTrainIds.png
    with pytest.raises(FileNotFoundError,
                       match=r"GTA5 split file \(ann_file\): file '.*"
                       r"train\.txt' does not exist.*Run `python tools/"
                       r'dataset_converters/gta\.py <dataset root>`'):
        GTA5Dataset(data_root=root, ann_file='train.txt')
    with pytest.raises(FileNotFoundError,
                       match=r'2 of 2 GTA5 label maps \(\*_labelTrainIds\.png'
                       r'\) are missing: .*00001_labelTrainIds\.png.*Run '
                       r'`python tools/dataset_converters/gta\.py'):
        GTA5Dataset(data_root=root)
    with pytest.raises(FileNotFoundError,
                       match=r"GTA5 images: directory '.*missing/images' does "
                       r'not exist\. Expected layout:\ndata/gta/\n'):
        GTA5Dataset(data_root=str(tmp_path / 'missing'))
    # an image listed in the split file but missing on disk
    from mmda.datasets.gta import convert_gta5
    convert_gta5(root)
    os.remove(osp.join(root, 'images', '00001.png'))
    with pytest.raises(FileNotFoundError,
                       match=r"1 of 2 GTA5 images listed in '.*train\.txt' "
                       r'are missing: .*00001\.png'):
        GTA5Dataset(data_root=root, ann_file='train.txt')
    # lazy_init does not touch the disk
    assert GTA5Dataset(data_root=str(tmp_path / 'missing'),
                       lazy_init=True).metainfo['classes'][0] == 'road'


def test_gta5_dataset_after_skipped_samples(tmp_path):
    from mmda.datasets.gta import GTA5Dataset, convert_gta5
    root, _ = conv._make_mismatched(tmp_path)
    with pytest.warns(UserWarning, match='skipped'):
        convert_gta5(root, on_size_mismatch='skip')
    ds = GTA5Dataset(data_root=root, ann_file='train.txt')
    assert [osp.basename(d['img_path']) for d in ds.load_data_list()] == \
        ['00001.png', '00002.png']
    with pytest.raises(FileNotFoundError,
                       match=r'1 of 3 GTA5 label maps .*00003_labelTrainIds'):
        GTA5Dataset(data_root=root, ann_file='')


# --------------------------------------------------------------------------
# SYNTHIA
# --------------------------------------------------------------------------
def test_synthia_dataset_and_config_pipeline(tmp_path):
    root = conv.make_synthia(str(tmp_path / 'synthia'))
    from mmda.datasets.synthia import SynthiaDataset, convert_synthia
    convert_synthia(root)
    cfg = cfg_of('synthia')
    ds = build(cfg.synthia_train_dataset, root)
    assert isinstance(ds, SynthiaDataset) and len(ds) == 2
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'RGB', '0000000.png')
    assert info['seg_map_path'] == osp.join(root, 'GT', 'LABELS',
                                            '0000000_labelTrainIds.png')
    out = ds[1]  # 6x4 -> 1140x760, crop 512x512
    assert out['inputs'].shape == (3, 512, 512)
    assert set(torch.unique(out['data_samples'].gt_sem_seg.data).tolist()) \
        <= {0, 13, 255}
    # the 19 / 16 / 13-class evaluator of SYNTHIA-trained models
    ev = cfg.synthia_cityscapes_evaluator
    assert [m.get('classes') for m in ev] == [None, 'synthia16', 'synthia13']
    assert [m.get('prefix') for m in ev] == [None, '16cls', '13cls']
    os.makedirs(str(tmp_path / 'other' / 'RGB'))
    with pytest.raises(FileNotFoundError,
                       match=r"SYNTHIA labels: directory '.*GT/LABELS' does "
                       r'not exist'):
        SynthiaDataset(data_root=str(tmp_path / 'other'))


# --------------------------------------------------------------------------
# BDD100K night, Dark Zurich (+ concatenated target)
# --------------------------------------------------------------------------
def make_dark_zurich(root):
    for seq, frames in (('GOPR0351', 2), ('GOPR0352', 1)):
        for i in range(frames):
            save_rgb(osp.join(root, 'rgb_anon', 'train', 'night', seq,
                              f'{seq}_frame_{i:06d}_rgb_anon.png'), 18, 32,
                     seed=i)
    # a day image that must not be used
    save_rgb(osp.join(root, 'rgb_anon', 'train', 'day', 'GOPR0100',
                      'GOPR0100_frame_000000_rgb_anon.png'), 18, 32)
    name = 'GOPR0356_frame_000321'
    save_rgb(osp.join(root, 'rgb_anon', 'val', 'night', 'GOPR0356',
                      f'{name}_rgb_anon.png'), 18, 32, value=30)
    ids = np.full((18, 32), 255, np.uint8)
    ids[:9] = 10
    ids[9:] = 0
    save_train_ids(osp.join(root, 'gt', 'val', 'night', 'GOPR0356',
                            f'{name}_gt_labelTrainIds.png'), ids)
    return root


def test_bdd100k_night_dataset_and_concat_target(tmp_path):
    from mmda.datasets.bdd100k import (BDD100KNightDataset,
                                       write_bdd100k_timeofday_split)
    root = conv.make_bdd(str(tmp_path / 'bdd100k'))
    with pytest.warns(UserWarning, match='f6'):
        write_bdd100k_timeofday_split(root)
    cfg = cfg_of('bdd100k_night')
    ds = build(cfg.bdd100k_night_target_dataset, root)
    assert isinstance(ds, BDD100KNightDataset) and len(ds) == 2
    infos = ds.load_data_list()
    assert [d['img_path'] for d in infos] == [
        osp.join(root, 'images', '100k', 'train', n) for n in
        ('a1.jpg', 'c3.jpg')]
    assert all('seg_map_path' not in d for d in infos)
    out = ds[0]  # 16x9 -> 910x512, crop 512x512, no label
    assert out['inputs'].shape == (3, 512, 512)
    assert 'gt_sem_seg' not in out['data_samples']
    # every image of the folder without a split file (f6.jpg is not on disk)
    assert len(BDD100KNightDataset(data_root=root, ann_file='')) == 5
    with pytest.raises(ValueError, match='BDD100KNightDataset is unlabelled'):
        BDD100KNightDataset(
            data_root=root,
            data_prefix=dict(img_path='images/100k/train', seg_map_path='x'))
    with pytest.raises(FileNotFoundError,
                       match=r"BDD100K night split file \(ann_file\): file "
                       r"'.*night_test\.txt' does not exist.*bdd100k_night"
                       r'\.py'):
        BDD100KNightDataset(data_root=root, ann_file='night_test.txt')

    # Dark Zurich night + BDD100K night as one target domain (Scherer et al.)
    dz_root = make_dark_zurich(str(tmp_path / 'dark_zurich'))
    dz_cfg = cfg_of('dark_zurich')
    dz_target = dict(dz_cfg.dark_zurich_target_dataset.to_dict(),
                     data_root=dz_root)
    concat = DATASETS.build(
        dict(type='ConcatDataset', datasets=[
            dz_target, dict(cfg.bdd100k_night_target_dataset.to_dict(),
                            data_root=root)]))
    assert len(concat) == 3 + 2
    assert concat.metainfo['classes'] == CityscapesDataset.METAINFO['classes']
    assert concat[0]['inputs'].shape == (3, 512, 512)


def test_dark_zurich_config(tmp_path):
    root = make_dark_zurich(str(tmp_path / 'dark_zurich'))
    cfg = cfg_of('dark_zurich')
    target = build(cfg.dark_zurich_target_dataset, root)
    assert type(target).__name__ == 'DarkZurichDataset' and len(target) == 3
    assert all('/night/' in d['img_path'] and 'seg_map_path' not in d
               for d in target.load_data_list())
    val = build(cfg.dark_zurich_val_dataloader.dataset, root)
    assert len(val) == 1
    info = val.get_data_info(0)
    assert info['seg_map_path'] == osp.join(
        root, 'gt', 'val', 'night', 'GOPR0356',
        'GOPR0356_frame_000321_gt_labelTrainIds.png')
    out = val[0]  # 32x18 -> 910x512; label stays at its size
    assert out['inputs'].shape == (3, 512, 910)
    gt = out['data_samples'].gt_sem_seg.data
    assert gt.shape == (1, 18, 32)
    assert (gt[0, :9] == 10).all() and (gt[0, 9:] == 0).all()
    assert cfg.dark_zurich_evaluator.type == 'IoUMetric'


# --------------------------------------------------------------------------
# Cityscapes and Nighttime Driving (mmseg's classes)
# --------------------------------------------------------------------------
def make_cityscapes(root, h=32, w=64):
    for split, city, n in (('train', 'aachen', 2), ('val', 'frankfurt', 1)):
        for i in range(n):
            name = f'{city}_{i:06d}_000019'
            save_rgb(osp.join(root, 'leftImg8bit', split, city,
                              f'{name}_leftImg8bit.png'), h, w, seed=i)
            ids = np.zeros((h, w), np.uint8)
            ids[:, w // 2:] = 13
            ids[0] = 255
            save_train_ids(osp.join(root, 'gtFine', split, city,
                                    f'{name}_gtFine_labelTrainIds.png'), ids)
    return root


@pytest.mark.parametrize('name,train_shape', [
    ('cityscapes_512x512', (3, 512, 512)),
    ('cityscapes_1024x512', (3, 512, 1024)),
])
def test_cityscapes_configs(tmp_path, name, train_shape):
    root = make_cityscapes(str(tmp_path / 'cityscapes'))
    cfg = cfg_of(name)
    assert tuple(cfg.cityscapes_crop_size) == train_shape[1:]
    train = build(cfg.cityscapes_train_dataloader.dataset, root)
    assert type(train).__name__ == 'CityscapesDataset' and len(train) == 2
    out = train[0]
    assert out['inputs'].shape == train_shape
    assert set(torch.unique(out['data_samples'].gt_sem_seg.data).tolist()) \
        <= {0, 13, 255}
    target = build(cfg.cityscapes_target_dataset, root)
    assert len(target) == 2
    assert 'seg_map_path' not in target.get_data_info(0)
    t_out = target[1]
    assert t_out['inputs'].shape == train_shape
    assert 'gt_sem_seg' not in t_out['data_samples']
    types = [t['type'] for t in cfg.cityscapes_target_pipeline]
    assert 'LoadAnnotations' not in types
    val = build(cfg.cityscapes_val_dataloader.dataset, root)
    assert len(val) == 1
    v_out = val[0]  # test at 1024x512
    assert v_out['inputs'].shape == (3, 512, 1024)
    assert v_out['data_samples'].gt_sem_seg.data.shape == (1, 32, 64)
    assert cfg.cityscapes_evaluator == dict(type='IoUMetric',
                                            iou_metrics=['mIoU'])


def test_night_driving_config(tmp_path):
    root = str(tmp_path / 'nighttime_driving')
    name = '0_frame_0001'
    save_rgb(osp.join(root, 'leftImg8bit', 'test', 'night',
                      f'{name}_leftImg8bit.png'), 27, 48, value=10)
    save_train_ids(osp.join(root, 'gtCoarse_daytime_trainvaltest', 'test',
                            'night', f'{name}_gtCoarse_labelTrainIds.png'),
                   np.full((27, 48), 8, np.uint8))
    cfg = cfg_of('night_driving')
    ds = build(cfg.night_driving_test_dataloader.dataset, root)
    assert type(ds).__name__ == 'NightDrivingDataset' and len(ds) == 1
    out = ds[0]
    assert out['inputs'].shape == (3, 512, 910)
    assert (out['data_samples'].gt_sem_seg.data == 8).all()
    assert cfg.night_driving_evaluator.type == 'SubsetIoUMetric'
    assert cfg.night_driving_evaluator.classes == 'gt_present'


# --------------------------------------------------------------------------
# Composition of the bases
# --------------------------------------------------------------------------
def test_dataset_bases_compose_without_duplicate_keys(tmp_path):
    names = ['gta', 'synthia', 'cityscapes_512x512', 'dark_zurich',
             'night_driving', 'bdd100k_night']
    child = tmp_path / 'child.py'
    child.write_text(
        '_base_ = [' + ', '.join(
            repr(osp.join(CFG_DIR, f'{n}.py')) for n in names) + ']\n'
        'train_dataloader = {{_base_.gta_train_dataloader}}\n'
        'val_dataloader = {{_base_.cityscapes_val_dataloader}}\n'
        'val_evaluator = {{_base_.synthia_cityscapes_evaluator}}\n'
        'test_dataloader = {{_base_.night_driving_test_dataloader}}\n'
        'test_evaluator = {{_base_.night_driving_evaluator}}\n'
        "target = dict(type='ConcatDataset', datasets=[\n"
        '    {{_base_.dark_zurich_target_dataset}},\n'
        '    {{_base_.bdd100k_night_target_dataset}}])\n')
    cfg = Config.fromfile(str(child))
    assert cfg.train_dataloader.dataset.type == 'GTA5Dataset'
    assert cfg.val_dataloader.dataset.data_prefix.img_path == \
        'leftImg8bit/val'
    assert len(cfg.val_evaluator) == 3
    assert cfg.test_dataloader.dataset.type == 'NightDrivingDataset'
    assert [d.type for d in cfg.target.datasets] == [
        'DarkZurichDataset', 'BDD100KNightDataset']
    # the data roots of the issue
    assert cfg.gta_data_root == 'data/gta/'
    assert cfg.synthia_data_root == 'data/synthia/'
    assert cfg.cityscapes_data_root == 'data/cityscapes/'
    assert cfg.dark_zurich_data_root == 'data/dark_zurich/'
    assert cfg.night_driving_data_root == 'data/nighttime_driving/'
    assert cfg.bdd100k_night_data_root == 'data/bdd100k/'
    # the two Cityscapes variants are alternatives (same names)
    both = tmp_path / 'both.py'
    both.write_text('_base_ = [' + repr(osp.join(
        CFG_DIR, 'cityscapes_512x512.py')) + ', ' + repr(osp.join(
            CFG_DIR, 'cityscapes_1024x512.py')) + ']\n')
    with pytest.raises(KeyError, match='Duplicate key'):
        Config.fromfile(str(both))
