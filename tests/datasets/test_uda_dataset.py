"""UDADataset pairing, rare-class sampling, UDADataPreProcessor and the
semi-supervised split tool."""
import json
import os
import os.path as osp
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

import mmda  # noqa: F401  (registers everything)
from mmda.datasets.uda_dataset import UDADataset, rcs_class_probabilities
from mmda.registry import DATASETS, MODELS
from tests.helpers import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import make_semi_splits  # noqa: E402

CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
           'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
           'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
           'bicycle')
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
H, W = 8, 16


def _make_domain(root, name, labels, value_offset=0):
    """Write images (constant value = offset + index) and label maps."""
    os.makedirs(osp.join(root, name, 'img'), exist_ok=True)
    os.makedirs(osp.join(root, name, 'ann'), exist_ok=True)
    for i, lab in enumerate(labels):
        img = np.full((H, W, 3), value_offset + i, np.uint8)
        mmcv.imwrite(img, osp.join(root, name, 'img', f'{name}_{i:03d}.png'))
        mmcv.imwrite(lab.astype(np.uint8),
                     osp.join(root, name, 'ann', f'{name}_{i:03d}.png'))
    return dict(
        type='BaseSegDataset',
        metainfo=dict(classes=CLASSES),
        data_root=osp.join(root, name),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png',
        seg_map_suffix='.png',
        pipeline=PIPELINE)


def _const_labels(values):
    return [np.full((H, W), v, np.uint8) for v in values]


@pytest.fixture
def domains(tmp_path):
    src = _make_domain(str(tmp_path), 'src', _const_labels([0, 1, 2, 3, 4]))
    tgt = _make_domain(str(tmp_path), 'tgt', _const_labels([5, 6, 7]), 100)
    return src, tgt


def _names(item):
    return (osp.basename(item['data_samples'].img_path),
            osp.basename(item['target_data_samples'].img_path))


def test_sequential_pairing_and_lengths(domains):
    src, tgt = domains
    ds = DATASETS.build(
        dict(type='UDADataset', source=src, target=tgt,
             target_sampling='sequential'))
    assert len(ds) == 5
    pairs = [_names(ds[i]) for i in range(len(ds))]
    assert pairs == [(f'src_{i:03d}.png', f'tgt_{i % 3:03d}.png')
                     for i in range(5)]
    item = ds[4]
    assert set(item) == {'inputs', 'data_samples', 'target_inputs',
                         'target_data_samples'}
    # the source keeps its label, the target image is the target's
    assert int(item['data_samples'].gt_sem_seg.data.unique()) == 4
    assert int(item['target_inputs'][0, 0, 0]) == 101
    assert ds.metainfo['classes'] == CLASSES

    # length 'max' with a longer target: the source wraps around
    ds2 = UDADataset(source=tgt, target=src, length='max',
                     target_sampling='sequential')
    assert len(ds2) == 5
    assert [_names(ds2[i]) for i in range(5)] == [
        (f'tgt_{i % 3:03d}.png', f'src_{i:03d}.png') for i in range(5)]


def test_random_target_sampling_seeded(domains):
    src, tgt = domains
    a = UDADataset(source=src, target=tgt, seed=3)
    b = UDADataset(source=src, target=tgt, seed=3)
    c = UDADataset(source=src, target=tgt, seed=4)
    seq_a = [_names(a[i % 5])[1] for i in range(40)]
    seq_b = [_names(b[i % 5])[1] for i in range(40)]
    seq_c = [_names(c[i % 5])[1] for i in range(40)]
    assert seq_a == seq_b
    assert seq_a != seq_c
    assert set(seq_a) == {f'tgt_{j:03d}.png' for j in range(3)}
    # the source index is still the item index
    assert [_names(a[i])[0] for i in range(5)] == [
        f'src_{i:03d}.png' for i in range(5)]


def test_errors(domains, tmp_path):
    src, tgt = domains
    with pytest.raises(KeyError, match='missing `target`'):
        DATASETS.build(dict(type='UDADataset', source=src))
    with pytest.raises(KeyError, match='missing `source`'):
        UDADataset(target=tgt)
    with pytest.raises(ValueError, match='length must be one of'):
        UDADataset(source=src, target=tgt, length='min')
    other = dict(tgt, metainfo=dict(classes=('a', 'b')))
    with pytest.raises(ValueError) as err:
        UDADataset(source=src, target=other)
    msg = str(err.value)
    assert 'same classes' in msg and "'road'" in msg and "('a', 'b')" in msg
    with pytest.raises(FileNotFoundError, match='sample_class_stats.json'):
        UDADataset(source=src, target=tgt,
                   rare_class_sampling=dict(stats_dir=str(tmp_path)))
    with pytest.raises(KeyError, match='unknown keys'):
        UDADataset(source=src, target=tgt,
                   rare_class_sampling=dict(temperature=0.1))


def test_rcs_formula_on_hand_numbers():
    stats = [
        {'file': 'a.png', '0': 600, '1': 300},
        {'file': 'b.png', '1': 100, '2': 0, '255': 999},
    ]
    classes, probs = rcs_class_probabilities(stats, 0.1, num_classes=19)
    # totals: c0 600, c1 400, c2 0 -> f = (0.6, 0.4, 0); sorted by frequency
    assert classes == [2, 1, 0]
    f = np.array([0.0, 0.4, 0.6])
    expected = np.exp((1 - f) / 0.1) / np.exp((1 - f) / 0.1).sum()
    np.testing.assert_allclose(probs, expected, rtol=1e-12)
    assert probs[0] > probs[1] > probs[2]
    with pytest.raises(ValueError, match='temperature'):
        rcs_class_probabilities(stats, 0.0)


def test_rare_class_sampling(tmp_path):
    # image k is dominated by class k; class 3 appears only as small patches
    labels = []
    for k in range(3):
        lab = np.full((H, W), k, np.uint8)
        lab[0, :4] = 3  # 4 pixels of class 3 everywhere (below min_pixels)
        labels.append(lab)
    src = _make_domain(str(tmp_path), 'src', labels)
    tgt = _make_domain(str(tmp_path), 'tgt', _const_labels([0]), 100)
    stats = [{'file': f'ann/src_{k:03d}.png', str(k): H * W - 4, '3': 4}
             for k in range(3)]
    swc = {str(k): [[f'ann/src_{k:03d}.png', H * W - 4]] for k in range(3)}
    swc['3'] = [[f'ann/src_{k:03d}.png', 4] for k in range(3)]
    stats_dir = tmp_path / 'stats'
    stats_dir.mkdir()
    (stats_dir / 'sample_class_stats.json').write_text(json.dumps(stats))
    (stats_dir / 'samples_with_class.json').write_text(json.dumps(swc))

    temp = 0.05
    ds = UDADataset(
        source=src, target=tgt, seed=0,
        rare_class_sampling=dict(
            class_temp=temp, min_pixels=10, min_crop_ratio=0.0,
            stats_dir=str(stats_dir)))
    # class 3 (rarest) has no image with more than min_pixels: dropped, the
    # others keep their formula probabilities, renormalised
    classes, probs = rcs_class_probabilities(stats, temp, 19)
    keep = [i for i, c in enumerate(classes) if c != 3]
    assert ds.rcs_classes == [classes[i] for i in keep]
    np.testing.assert_allclose(
        ds.rcs_class_probs, probs[keep] / probs[keep].sum(), rtol=1e-12)

    # hand-made class counts: all equal -> uniform over classes 0, 1, 2
    np.testing.assert_allclose(ds.rcs_class_probs, [1 / 3] * 3, rtol=1e-9)
    # each draw picks the only image of the chosen class: empirical image
    # frequencies follow the class probabilities
    n = 600
    counts = np.zeros(3)
    for i in range(n):
        name = _names(ds[i % len(ds)])[0]
        counts[int(name[4:7])] += 1
    assert np.abs(counts / n - 1 / 3).max() < 0.07

    # unequal counts -> unequal probabilities, checked against the formula
    stats[0]['0'] = 10 * (H * W)
    (stats_dir / 'sample_class_stats.json').write_text(json.dumps(stats))
    ds = UDADataset(
        source=src, target=tgt, seed=1,
        rare_class_sampling=dict(
            class_temp=temp, min_pixels=10, min_crop_ratio=0.0,
            stats_dir=str(stats_dir)))
    tot = {0: 10 * H * W, 1: H * W - 4, 2: H * W - 4, 3: 12}
    total = sum(tot.values())
    logit = {c: (1 - v / total) / temp for c, v in tot.items()}
    z = sum(np.exp(logit[c]) for c in (0, 1, 2))
    expected = {c: np.exp(logit[c]) / z for c in (0, 1, 2)}
    got = dict(zip(ds.rcs_classes, ds.rcs_class_probs))
    for c in (0, 1, 2):
        assert got[c] == pytest.approx(expected[c], rel=1e-9)
    assert got[0] < 0.01  # the frequent class is (almost) never drawn
    names = {_names(ds[i % len(ds)])[0] for i in range(60)}
    assert 'src_000.png' not in names


def test_rcs_min_crop_ratio_resamples(tmp_path):
    """With min_crop_ratio the sample is re-drawn (up to 10 times) until the
    random crop holds more than min_pixels * min_crop_ratio pixels of the
    chosen class."""
    lab = np.zeros((H, W), np.uint8)
    lab[:, 12:] = 1  # rare class 1 in the 4 right-most columns (32 pixels)
    src = _make_domain(str(tmp_path), 'src', [lab])
    src['pipeline'] = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomCrop', crop_size=(H, 8)),
        dict(type='PackSegInputs'),
    ]
    tgt = _make_domain(str(tmp_path), 'tgt', _const_labels([0]), 100)
    stats = [{'file': 'src_000.png', '0': 96, '1': 32}]
    swc = {'0': [['src_000.png', 96]], '1': [['src_000.png', 32]]}
    d = tmp_path / 'st'
    d.mkdir()
    (d / 'sample_class_stats.json').write_text(json.dumps(stats))
    (d / 'samples_with_class.json').write_text(json.dumps(swc))

    def n_rare_crops(ratio):
        np.random.seed(0)  # RandomCrop draws from numpy's global generator
        ds = UDADataset(source=src, target=tgt, seed=0,
                        rare_class_sampling=dict(
                            class_temp=0.01, min_pixels=10,
                            min_crop_ratio=ratio, stats_dir=str(d)))
        assert ds.rcs_class_probs[ds.rcs_classes.index(1)] > 0.99
        return sum(
            int((ds[0]['data_samples'].gt_sem_seg.data == 1).sum() > 20)
            for _ in range(30))

    # a crop (offset x in 0..8) holds 8 * max(0, x - 4) pixels of class 1:
    # > 20 for x in {7, 8}, P = 2/9 per draw; with 10 re-draws 1-(7/9)^10
    assert n_rare_crops(0.0) <= 14
    assert n_rare_crops(2.0) >= 22


def test_collate_and_preprocessor(domains):
    src, tgt = domains
    ds = UDADataset(source=src, target=tgt, target_sampling='sequential')
    batch = pseudo_collate([ds[0], ds[1]])
    mean = [123.675, 116.28, 103.53]
    std = [58.395, 57.12, 57.375]
    dp = MODELS.build(
        dict(type='UDADataPreProcessor', mean=mean, std=std,
             bgr_to_rgb=True, size=(H, W), seg_pad_val=255))
    out = dp(batch, training=True)
    assert set(out) == {'inputs', 'data_samples', 'target_inputs',
                        'target_data_samples'}
    assert out['inputs'].shape == (2, 3, H, W)
    assert out['target_inputs'].shape == (2, 3, H, W)
    # constant images: source value 1 for item 1, target value 101
    exp_src = (1 - torch.tensor(mean)) / torch.tensor(std)
    exp_tgt = (101 - torch.tensor(mean)) / torch.tensor(std)
    torch.testing.assert_close(out['inputs'][1, :, 0, 0], exp_src)
    torch.testing.assert_close(out['target_inputs'][1, :, 0, 0], exp_tgt)
    # validation batches (no target keys) behave as SegDataPreProcessor
    val = dp(dict(inputs=batch['inputs'],
                  data_samples=batch['data_samples']), training=False)
    assert set(val) == {'inputs', 'data_samples'}
    torch.testing.assert_close(val['inputs'], out['inputs'])
    with pytest.raises(KeyError, match='target_data_samples'):
        dp(dict(inputs=batch['inputs'], data_samples=batch['data_samples'],
                target_inputs=batch['target_inputs']), training=True)


def test_infinite_sampler_dataloader(domains):
    from mmengine.dataset import InfiniteSampler
    from torch.utils.data import DataLoader
    src, tgt = domains
    ds = UDADataset(source=src, target=tgt, seed=0)
    loader = DataLoader(ds, batch_size=2, collate_fn=pseudo_collate,
                        sampler=InfiniteSampler(ds, shuffle=True, seed=0))
    it = iter(loader)
    seen = set()
    for _ in range(6):
        b = next(it)
        assert len(b['inputs']) == 2 and len(b['target_inputs']) == 2
        seen |= {osp.basename(s.img_path) for s in b['data_samples']}
    assert seen == {f'src_{i:03d}.png' for i in range(5)}


def test_make_semi_splits(tmp_path):
    root = tmp_path / 'cityscapes'
    names = []
    for city, n in (('aachen', 40), ('bochum', 20)):
        d = root / 'leftImg8bit' / 'train' / city
        d.mkdir(parents=True)
        for i in range(n):
            (d / f'{city}_{i:06d}_000019_leftImg8bit.png').write_bytes(b'')
            names.append(f'{city}/{city}_{i:06d}_000019')
    listed = make_semi_splits.list_cityscapes(str(root))
    assert listed == sorted(names)
    assert make_semi_splits.main(
        ['cityscapes', str(root), '--fractions', '1/8', '1/4',
         '--seed', '0']) == 0
    lab = (root / 'splits' / '1-8_seed0_labeled.txt').read_text().split()
    unl = (root / 'splits' / '1-8_seed0_unlabeled.txt').read_text().split()
    assert len(lab) == 8 and len(unl) == 52  # ceil(60 / 8) = 8
    assert not set(lab) & set(unl) and set(lab) | set(unl) == set(names)
    assert len((root / 'splits' / '1-4_seed0_labeled.txt').read_text()
               .split()) == 15
    # seeded: same seed -> same split; other seed -> other split
    lab2, _ = make_semi_splits.make_split(names, 8, 0)
    lab3, _ = make_semi_splits.make_split(names, 8, 1)
    assert lab2 == lab and lab3 != lab
    assert make_semi_splits.num_labeled(2975, make_semi_splits.parse_fraction(
        '1/30')) == 100
    assert make_semi_splits.num_labeled(10582, make_semi_splits.parse_fraction(
        '1/8')) == 1323
    with pytest.raises(FileNotFoundError, match='leftImg8bit/train'):
        make_semi_splits.list_cityscapes(str(tmp_path / 'nothing'))
    with pytest.raises(ValueError, match='fraction'):
        make_semi_splits.parse_fraction('3/2')
    # VOC list
    voc = tmp_path / 'voc'
    (voc / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    (voc / 'ImageSets' / 'Segmentation' / 'aug.txt').write_text(
        '\n'.join(f'2007_{i:06d}' for i in range(100)) + '\n')
    written = make_semi_splits.write_splits(
        str(voc), make_semi_splits.list_voc(str(voc)),
        [make_semi_splits.parse_fraction('1/50')], seed=0)
    lab_path, unl_path = written['1-50_seed0']
    assert len(open(lab_path).read().split()) == 2
    assert len(open(unl_path).read().split()) == 98
