"""Tests of the batched mixers (ClassMix/CutMix/CowMix) and the dataset-level
mix transforms."""
import itertools

import numpy as np
import pytest
import torch

from mmda.models.uda.mixing import BaseMix, ClassMix, CowMix, CutMix
from mmda.registry import MODELS, TRANSFORMS

# image 0: classes {0, 1, 2, 3} + ignore; image 1: classes {5, 6, 7} + ignore
LABEL = torch.tensor([
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [255, 255, 3, 3]],
    [[5, 5, 5, 5], [6, 6, 6, 6], [255, 255, 255, 255], [7, 7, 7, 7]],
])


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------- ClassMix
def test_classmix_hand_made_masks():
    cm = ClassMix()
    present = [{0, 1, 2, 3}, {5, 6, 7}]
    for seed in range(20):
        mask = cm.generate_masks(LABEL, generator=_gen(seed))
        assert mask.shape == (2, 1, 4, 4) and mask.dtype == torch.float32
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        for b in range(2):
            m = mask[b, 0].bool()
            chosen = set(LABEL[b][m].tolist())
            # ceil(4 / 2) = 2 and ceil(3 / 2) = 2 classes, only from the label
            assert len(chosen) == 2
            assert chosen <= present[b]
            assert 255 not in chosen
            # the mask is exactly the pixels of the chosen classes
            expected = torch.isin(LABEL[b], torch.tensor(sorted(chosen)))
            assert torch.equal(m, expected)
            assert not m[LABEL[b] == 255].any()


def test_classmix_chooses_uniform_subsets():
    cm = ClassMix()
    seen = set()
    for seed in range(200):
        mask = cm.generate_masks(LABEL[:1, None], generator=_gen(seed))
        seen.add(tuple(sorted(set(LABEL[0][mask[0, 0].bool()].tolist()))))
    # all 6 two-class subsets of {0, 1, 2, 3} occur
    assert seen == set(itertools.combinations(range(4), 2))


def test_classmix_edge_cases_and_proportion():
    label = torch.tensor([
        [[4, 4], [4, 255]],  # one class -> ceil(0.5) = 1 -> all of it
        [[255, 255], [255, 255]],  # only ignore -> empty mask
        [[1, 2], [1, 2]],  # two classes -> one chosen
    ])
    mask = ClassMix().generate_masks(label, generator=_gen(0))
    assert torch.equal(mask[0, 0], torch.tensor([[1., 1.], [1., 0.]]))
    assert torch.equal(mask[1, 0], torch.zeros(2, 2))
    assert mask[2, 0].sum() == 2 and len(set(label[2][mask[2, 0].bool()]
                                             .tolist())) == 1
    full = ClassMix(proportion=1.0).generate_masks(LABEL, generator=_gen(1))
    assert torch.equal(full[:, 0].bool(), LABEL != 255)
    assert ClassMix().num_selected(4) == 2
    assert ClassMix().num_selected(3) == 2
    assert ClassMix(proportion=0.25).num_selected(5) == 2
    with pytest.raises(ValueError, match='proportion'):
        ClassMix(proportion=1.5)
    with pytest.raises(ValueError, match='>= 0'):
        ClassMix().generate_masks(torch.tensor([[[-1, 0]]]))


def test_classmix_reproducible_and_accepts_b1hw():
    a = ClassMix().generate_masks(LABEL[:, None], generator=_gen(3))
    b = ClassMix().generate_masks(LABEL, generator=_gen(3))
    assert torch.equal(a, b)


def test_classmix_mixed_sample():
    cm = MODELS.build(dict(type='ClassMix'))
    assert isinstance(cm, ClassMix)
    B, H, W = 2, 4, 4
    src_img = torch.arange(B * 3 * H * W, dtype=torch.float32).view(
        B, 3, H, W)
    tgt_img = -1.0 - src_img
    src_label = LABEL[:, None].clone()
    tgt_label = torch.full((B, 1, H, W), 9, dtype=torch.long)
    tgt_weight = torch.full((B, 1, H, W), 0.25)
    out = cm(src_img, tgt_img, src_label, tgt_label, None, tgt_weight,
             generator=_gen(5))
    mask = out['mask']
    m = mask.bool()
    assert out['img'].shape == (B, 3, H, W)
    assert out['label'].dtype == torch.long
    assert out['label'].shape == (B, 1, H, W)
    # labels: source where mask = 1, target elsewhere
    assert torch.equal(out['label'], torch.where(m, src_label, tgt_label))
    assert torch.equal(out['label'][m], src_label[m])
    assert (out['label'][~m] == 9).all()
    # images, on every channel
    assert torch.equal(out['img'], torch.where(m, src_img, tgt_img))
    # weights: 1 on pasted source pixels, the target weight elsewhere
    assert torch.equal(out['weight'], torch.where(m, 1.0, 0.25))
    # the mask is the ClassMix mask of the source label
    assert torch.equal(mask, ClassMix().generate_masks(src_label, _gen(5)))


def test_mix_shapes_and_errors():
    mask = torch.tensor([[[[1., 0.], [0., 1.]]]])
    a = torch.tensor([[[1, 2], [3, 4]]])  # (B, H, W) long
    b = torch.tensor([[[5, 6], [7, 8]]])
    out = BaseMix.mix(mask, a, b)
    assert out.dtype == torch.long and out.shape == (1, 2, 2)
    assert torch.equal(out, torch.tensor([[[1, 6], [7, 4]]]))
    # soft targets (B, C, H, W) broadcast over channels
    pa, pb = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    assert torch.equal(BaseMix.mix(mask, pa, pb), mask.expand(1, 3, 2, 2))
    with pytest.raises(ValueError, match='same shape'):
        BaseMix.mix(mask, a, b[:, :1])
    with pytest.raises(ValueError, match='does not match'):
        BaseMix.mix(mask, torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2))
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        BaseMix.mix(mask[0], a, b)
    with pytest.raises(ValueError, match='same shape'):
        ClassMix()(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 4), a, a)


# ------------------------------------------------------------------- CutMix
def _is_box(m):
    rows, cols = m.any(dim=1), m.any(dim=0)
    return torch.equal(m, rows[:, None] & cols[None, :]) and all(
        (torch.diff(torch.nonzero(v)[:, 0]) == 1).all() for v in (rows, cols)
        if v.sum() > 1)


def test_cutmix_box_area():
    H, W, ratio = 32, 64, 0.25
    cut = MODELS.build(dict(type='CutMix', area_ratio=ratio))
    masks = cut.generate_masks(torch.zeros(16, H, W), generator=_gen(0))
    assert masks.shape == (16, 1, H, W)
    areas = masks.sum(dim=(1, 2, 3))
    for b in range(16):
        m = masks[b, 0].bool()
        assert _is_box(m)
        w = int(m.any(dim=0).sum())
        # h = round(area / w): |h * w - ratio * H * W| <= w / 2
        assert abs(float(areas[b]) - ratio * H * W) <= w / 2
    # boxes move around
    assert len({tuple(torch.nonzero(m[0])[0].tolist()) for m in masks}) > 4
    # default 0.5 (thesis code) on an odd size
    m = CutMix().generate_masks(torch.zeros(4, 1, 17, 23), _gen(1))
    assert ((m.sum(dim=(1, 2, 3)) - 0.5 * 17 * 23).abs() <= 23 / 2).all()
    assert torch.equal(CutMix(1.0).generate_masks(torch.zeros(2, 5, 7)),
                       torch.ones(2, 1, 5, 7))
    assert CutMix(0.0).generate_masks(torch.zeros(2, 5, 7)).sum() == 0


def test_cutmix_area_range_and_errors():
    H, W = 40, 40
    m = CutMix(area_ratio=(0.2, 0.6)).generate_masks(
        torch.zeros(32, H, W), _gen(2))
    frac = m.sum(dim=(1, 2, 3)) / (H * W)
    assert (frac >= 0.2 - 0.5 / H).all() and (frac <= 0.6 + 0.5 / H).all()
    assert frac.max() - frac.min() > 0.15
    with pytest.raises(ValueError, match='area_ratio'):
        CutMix(area_ratio=1.2)
    with pytest.raises(ValueError, match='area_ratio'):
        CutMix(area_ratio=(0.6, 0.2))


# ------------------------------------------------------------------- CowMix
def test_cowmix_proportion_exact():
    H, W = 48, 64
    cow = MODELS.build(dict(type='CowMix', sigma=4.0, proportion=0.3))
    m = cow.generate_masks(torch.zeros(3, H, W), generator=_gen(0))
    assert m.shape == (3, 1, H, W)
    assert torch.equal(m.sum(dim=(1, 2, 3)),
                       torch.full((3, ), float(round(0.3 * H * W))))
    # proportion range: per-image proportion within the range
    m = CowMix(sigma=(2., 8.), proportion=(0.25, 0.75)).generate_masks(
        torch.zeros(16, H, W), _gen(1))
    frac = m.mean(dim=(1, 2, 3))
    assert (frac >= 0.25 - 1 / (H * W)).all()
    assert (frac <= 0.75 + 1 / (H * W)).all()
    assert frac.max() - frac.min() > 0.2
    assert CowMix(proportion=0.0).generate_masks(torch.zeros(1, 8, 8)).sum() \
        == 0
    assert CowMix(proportion=1.0).generate_masks(
        torch.zeros(1, 8, 8)).sum() == 64


def test_cowmix_sigma_controls_smoothness():
    H = W = 64

    def boundary(m):
        m = m[:, 0]
        return float((m[:, 1:] != m[:, :-1]).sum() +
                     (m[:, :, 1:] != m[:, :, :-1]).sum())

    fine = CowMix(sigma=1.0).generate_masks(torch.zeros(4, H, W), _gen(0))
    coarse = CowMix(sigma=8.0).generate_masks(torch.zeros(4, H, W), _gen(0))
    assert boundary(coarse) < 0.4 * boundary(fine)
    # reproducible with a seeded generator
    again = CowMix(sigma=8.0).generate_masks(torch.zeros(4, H, W), _gen(0))
    assert torch.equal(coarse, again)
    with pytest.raises(ValueError, match='sigma'):
        CowMix(sigma=0.0)


# --------------------------------------------------- dataset-level transforms
def _sample(label, value):
    label = np.asarray(label, dtype=np.uint8)
    img = np.full(label.shape + (3, ), value, dtype=np.uint8)
    img[..., 1] = label  # channel 1 carries the label to check the mixing
    return dict(img=img, gt_seg_map=label, seg_fields=['gt_seg_map'],
                img_path=f'img{value}.png')


def test_classmix_transform_mixes_two_samples():
    t = TRANSFORMS.build(dict(type='ClassMixTransform', prob=1.0))
    a = _sample(LABEL[0].numpy(), 10)
    b = _sample(np.full((4, 4), 8), 20)
    assert len(t.get_indices(list(range(7)))) == 1
    assert 0 <= t.get_indices(list(range(7)))[0] < 7
    np.random.seed(0)
    out = t(dict(a, mix_results=[b]))
    mask = out['mix_mask']
    chosen = set(LABEL[0].numpy()[mask].tolist())
    assert len(chosen) == 2 and chosen <= {0, 1, 2, 3}
    assert np.array_equal(mask, np.isin(LABEL[0].numpy(), sorted(chosen)))
    assert np.array_equal(out['gt_seg_map'],
                          np.where(mask, LABEL[0].numpy(), 8))
    assert out['gt_seg_map'].dtype == np.uint8
    assert np.array_equal(out['img'][..., 0], np.where(mask, 10, 20))
    assert np.array_equal(out['img'][..., 1], out['gt_seg_map'])


def test_mix_transform_prob_and_errors():
    a = _sample(LABEL[0].numpy(), 10)
    b = _sample(np.full((4, 4), 8), 20)
    t = TRANSFORMS.build(dict(type='CutMixTransform', prob=0.0))
    out = t(dict(a, mix_results=[b]))
    assert np.array_equal(out['img'], a['img'])
    t = TRANSFORMS.build(dict(type='CutMixTransform', prob=1.0))
    out = t(dict(a, mix_results=[b]))
    m = torch.from_numpy(out['mix_mask'])
    assert _is_box(m) and abs(int(m.sum()) - 8) <= 2  # half of 4 x 4
    assert np.array_equal(out['gt_seg_map'],
                          np.where(out['mix_mask'], a['gt_seg_map'], 8))
    with pytest.raises(KeyError, match='MultiImageMixDataset'):
        t(dict(a))
    with pytest.raises(ValueError, match='shapes differ'):
        t(dict(a, mix_results=[_sample(np.zeros((4, 5)), 1)]))
    with pytest.raises(ValueError, match='prob'):
        TRANSFORMS.build(dict(type='ClassMixTransform', prob=2))
    cow = TRANSFORMS.build(
        dict(type='CowMixTransform', sigma=1.0, proportion=0.5))
    out = cow(dict(a, mix_results=[b]))
    assert out['mix_mask'].sum() == 8


def test_classmix_transform_in_multi_image_mix_dataset(tmp_path):
    import mmcv
    from mmengine.registry import DefaultScope

    from mmda.registry import DATASETS
    (tmp_path / 'img').mkdir()
    (tmp_path / 'ann').mkdir()
    labels = [np.zeros((8, 8), np.uint8), np.ones((8, 8), np.uint8)]
    labels[0][:4] = 2  # sample 0 has classes {0, 2}
    for i, lab in enumerate(labels):
        img = np.full((8, 8, 3), 50 * (i + 1), np.uint8)
        mmcv.imwrite(img, str(tmp_path / 'img' / f'{i}.png'))
        mmcv.imwrite(lab, str(tmp_path / 'ann' / f'{i}.png'))
    cfg = dict(
        type='MultiImageMixDataset',
        dataset=dict(
            type='BaseSegDataset',
            data_root=str(tmp_path),
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            img_suffix='.png',
            seg_map_suffix='.png',
            metainfo=dict(classes=('a', 'b', 'c')),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations')
            ]),
        pipeline=[
            dict(type='ClassMixTransform', prob=1.0),
            dict(type='PackSegInputs')
        ])
    with DefaultScope.overwrite_default_scope('mmda'):
        ds = DATASETS.build(cfg)
    mix = ds.pipeline[0]
    assert type(mix).__name__ == 'ClassMixTransform'
    mix.get_indices = lambda dataset: [1]  # always mix with sample 1
    np.random.seed(1)
    pasted = set()
    for _ in range(8):
        out = ds[0]
        seg = out['data_samples'].gt_sem_seg.data[0].numpy()
        img = out['inputs'][0].numpy()
        from_a = img == 50
        # one of the two classes {0, 2} of sample 0 (one half of the image)
        # is pasted onto sample 1 (image value 100, class 1)
        assert from_a.sum() == 32
        classes = set(np.unique(seg[from_a]).tolist())
        assert classes in ({0}, {2})
        pasted |= classes
        assert (seg[~from_a] == 1).all() and (img[~from_a] == 100).all()
    assert pasted == {0, 2}
