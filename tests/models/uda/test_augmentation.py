"""Tests of the DACS strong augmentation (colour jitter + Gaussian blur)."""
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from mmda.models.uda.augmentation import StrongAugmentation, gaussian_blur
from mmda.registry import MODELS

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def _aug(**kwargs):
    return StrongAugmentation(MEAN, STD, **kwargs)


def _imgs(B=2, H=24, W=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand((B, 3, H, W), generator=g) * 255.0
    return _aug().normalize(rgb)


def _params(aug, B, **overrides):
    p = aug.sample_params(B, generator=torch.Generator().manual_seed(0))
    p.update(overrides)
    return p


def test_build_and_normalisation_round_trip():
    aug = MODELS.build(dict(type='StrongAugmentation', mean=MEAN, std=STD))
    assert isinstance(aug, StrongAugmentation)
    # thesis §5.2.1: each with probability 0.5, one draw per batch
    assert (aug.color_jitter_p, aug.color_jitter_s, aug.blur_p) == (0.5, 0.2,
                                                                     0.5)
    assert aug.draw == 'batch'
    assert aug.blur_sigma == (0.15, 1.15) and aug.blur_kernel_ratio == 0.1
    rgb = torch.tensor(MEAN).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    assert torch.allclose(aug.normalize(rgb), torch.zeros(1, 3, 2, 2))
    x = _imgs()
    assert torch.allclose(aug.normalize(aug.denormalize(x)), x, atol=1e-5)
    assert torch.allclose(aug.denormalize(x),
                          x * torch.tensor(STD).view(1, 3, 1, 1) +
                          torch.tensor(MEAN).view(1, 3, 1, 1))


def test_same_params_same_output():
    aug = _aug(color_jitter_p=1.0, blur_p=1.0)
    x = _imgs()
    y1, params = aug(x, aug.sample_params(2, torch.Generator().manual_seed(1)))
    y2, params2 = aug(x.clone(), params)
    assert params2 is params
    assert torch.equal(y1, y2)
    assert not torch.allclose(y1, x, atol=1e-3)  # it did something
    # the same generator seed gives the same parameters
    p_a = aug.sample_params(2, torch.Generator().manual_seed(7))
    p_b = aug.sample_params(2, torch.Generator().manual_seed(7))
    for k in p_a:
        assert torch.equal(p_a[k], p_b[k])


def test_probability_zero_is_identity():
    aug = _aug(color_jitter_p=0.0, blur_p=0.0)
    x = _imgs()
    y, params = aug(x)
    assert not params['color_jitter'].any() and not params['blur'].any()
    assert torch.equal(y, x) and y is not x
    # jitter on with strength 0 and no blur: identity up to float error
    aug = _aug(color_jitter_p=1.0, color_jitter_s=0.0, blur_p=0.0)
    y, params = aug(x)
    assert params['color_jitter'].all()
    assert torch.allclose(params['brightness'], torch.ones(2))
    assert torch.allclose(params['hue'], torch.zeros(2))
    assert torch.allclose(y, x, atol=1e-4)


def test_brightness_exact_and_per_image():
    aug = _aug()
    x = _imgs()
    B = 2
    p = _params(
        aug,
        B,
        color_jitter=torch.tensor([True, False]),
        brightness=torch.tensor([1.5, 1.5]),
        contrast=torch.ones(B),
        saturation=torch.ones(B),
        hue=torch.zeros(B),
        blur=torch.tensor([False, False]))
    y, _ = aug(x, p)
    rgb = aug.denormalize(x[:1])
    expected = (rgb * 1.5).clamp(0, 255)
    assert torch.allclose(aug.denormalize(y[:1]), expected, atol=1e-3)
    assert torch.equal(y[1], x[1])  # image 1 untouched


def test_contrast_saturation_hue_match_torchvision():
    aug = _aug()
    x = _imgs(B=1)
    rgb01 = aug.denormalize(x)[0] / 255.0
    p = _params(
        aug,
        1,
        color_jitter=torch.tensor([True]),
        brightness=torch.tensor([0.9]),
        contrast=torch.tensor([1.2]),
        saturation=torch.tensor([0.8]),
        hue=torch.tensor([0.1]),
        jitter_order=torch.tensor([[3, 1, 0, 2]]),
        blur=torch.tensor([False]))
    y, _ = aug(x, p)
    ref = TF.adjust_hue(rgb01, 0.1)
    ref = TF.adjust_contrast(ref, 1.2)
    ref = TF.adjust_brightness(ref, 0.9)
    ref = TF.adjust_saturation(ref, 0.8)
    assert torch.allclose(aug.denormalize(y)[0] / 255.0, ref, atol=1e-5)


def test_blur_kernel_and_values():
    aug = _aug()
    # DACS code: floor(ceil(0.1 n) - 0.5 + ceil(0.1 n) % 2), always odd
    assert aug.kernel_size(512) == 51
    assert aug.kernel_size(1024) == 103
    assert aug.kernel_size(64) == 7
    assert aug.kernel_size(128) == 13
    assert aug.kernel_size(5) == 1
    # separable blur == torchvision's 2-D gaussian_blur
    img = torch.rand(3, 20, 30)
    assert torch.allclose(
        gaussian_blur(img, (5, 7), 0.8),
        TF.gaussian_blur(img, kernel_size=[7, 5], sigma=[0.8, 0.8]),
        atol=1e-6)
    for sigma in (0.15, 1.15, 3.0):
        imgs = torch.rand(2, 3, 16, 64)
        assert torch.allclose(
            gaussian_blur(imgs, (13, 7), sigma),
            TF.gaussian_blur(imgs, kernel_size=[7, 13], sigma=[sigma, sigma]),
            atol=1e-6)
    with pytest.raises(ValueError, match='odd'):
        gaussian_blur(img, (4, 5), 1.0)
    # constant images stay constant; a blurred image is smoother
    x = _imgs(B=2, H=40, W=60)
    x[0] = 0.3
    p = _params(
        aug,
        2,
        color_jitter=torch.tensor([False, False]),
        blur=torch.tensor([True, True]),
        blur_sigma=torch.tensor([1.0, 1.15]))
    y, _ = aug(x, p)
    assert torch.allclose(y[0], x[0], atol=1e-5)
    tv = torch.diff(y[1], dim=-1).abs().mean()
    assert tv < 0.6 * torch.diff(x[1], dim=-1).abs().mean()
    ref = TF.gaussian_blur(
        aug.denormalize(x[1:]) / 255.0, kernel_size=[5, 3],
        sigma=[1.15, 1.15])  # kernel (3, 5) for 40 x 60, torchvision: [x, y]
    assert torch.allclose(aug.denormalize(y[1:]) / 255.0, ref, atol=1e-5)


def test_sample_params_ranges_and_frequencies():
    aug = _aug(color_jitter_p=0.2, color_jitter_s=0.2, blur_p=0.5,
               draw='image')
    p = aug.sample_params(4000, torch.Generator().manual_seed(0))
    assert abs(p['color_jitter'].float().mean() - 0.2) < 0.03
    assert abs(p['blur'].float().mean() - 0.5) < 0.03
    for k in ('brightness', 'contrast', 'saturation'):
        assert p[k].min() >= 0.8 and p[k].max() <= 1.2
    assert p['hue'].abs().max() <= 0.2
    assert p['blur_sigma'].min() >= 0.15 and p['blur_sigma'].max() <= 1.15
    assert torch.equal(p['jitter_order'].sort(dim=1).values,
                       torch.arange(4).expand(4000, 4))


def test_errors():
    aug = _aug()
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        aug(torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match='batch has 3'):
        aug(torch.zeros(3, 3, 4, 4), aug.sample_params(2))
    with pytest.raises(KeyError, match='blur_sigma'):
        p = aug.sample_params(1)
        del p['blur_sigma']
        aug(torch.zeros(1, 3, 4, 4), p)
    with pytest.raises(ValueError, match='color_jitter_p'):
        _aug(color_jitter_p=1.5)
    with pytest.raises(ValueError, match='mean and std'):
        StrongAugmentation([1, 2], STD)
    with pytest.raises(ValueError, match='blur_sigma'):
        _aug(blur_sigma=(1.0, 0.5))
    with pytest.raises(ValueError, match='draw must be'):
        _aug(draw='pixel')


def test_one_draw_per_batch_by_default():
    """thesis §5.2.1: "a 50% chance of being applied for each unsupervised
    batch": every image of a batch shares the on/off decisions, factors,
    order and sigma; over many batches each is on about half the time."""
    aug = _aug()
    g = torch.Generator().manual_seed(0)
    jitter_on, blur_on = [], []
    for _ in range(400):
        p = aug.sample_params(4, g)
        for k, v in p.items():
            assert torch.equal(v, v[:1].expand_as(v)), k
        jitter_on.append(bool(p['color_jitter'][0]))
        blur_on.append(bool(p['blur'][0]))
    assert abs(sum(jitter_on) / 400 - 0.5) < 0.08
    assert abs(sum(blur_on) / 400 - 0.5) < 0.08
    assert jitter_on != blur_on  # independent draws
    # the augmented batch equals each image augmented on its own
    x = _imgs(B=3, H=24, W=40)
    p = aug.sample_params(3, torch.Generator().manual_seed(5))
    p.update(color_jitter=torch.ones(3, dtype=torch.bool),
             blur=torch.ones(3, dtype=torch.bool))
    y, _ = aug(x, p)
    for b in range(3):
        one = {k: v[b:b + 1] for k, v in p.items()}
        yb, _ = aug(x[b:b + 1], one)
        assert torch.allclose(y[b:b + 1], yb, atol=1e-4)
    # per image (the switch): draws differ between images
    aug_i = _aug(draw='image')
    p = aug_i.sample_params(4, torch.Generator().manual_seed(0))
    assert len(set(p['brightness'].tolist())) == 4
    assert len(set(p['blur_sigma'].tolist())) == 4


def _reference_per_image(aug, x, p):
    """The old per-image loop with torchvision's operations."""
    H, W = x.shape[-2:]
    ks = (aug.kernel_size(H), aug.kernel_size(W))
    out = x.clone()
    names = ('brightness', 'contrast', 'saturation', 'hue')
    fns = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation,
           TF.adjust_hue)
    for b in range(x.shape[0]):
        if not (p['color_jitter'][b] or p['blur'][b]):
            continue
        img = aug.denormalize(x[b:b + 1])[0] / 255.0
        if p['color_jitter'][b]:
            img = img.clamp(0, 1)
            for op in p['jitter_order'][b].tolist():
                img = fns[op](img, float(p[names[op]][b]))
        if p['blur'][b]:
            img = TF.gaussian_blur(img, kernel_size=[ks[1], ks[0]],
                                   sigma=[float(p['blur_sigma'][b])] * 2)
        out[b] = aug.normalize(img[None] * 255.0)[0]
    return out


@pytest.mark.parametrize('draw', ['batch', 'image'])
def test_batched_ops_match_torchvision_per_image(draw):
    """Both draw modes run as batched tensor operations and give what the
    per-image torchvision operations give (per image: differing factors,
    orders, sigmas and on/off decisions in one batch)."""
    aug = _aug(draw=draw, color_jitter_s=0.4)
    x = _imgs(B=6, H=30, W=44, seed=2)
    for seed in range(4):
        p = aug.sample_params(6, torch.Generator().manual_seed(seed))
        if draw == 'image':
            p['color_jitter'] = torch.tensor([1, 1, 0, 1, 0, 1]).bool()
            p['blur'] = torch.tensor([1, 0, 1, 1, 0, 0]).bool()
        else:
            p['color_jitter'] = torch.ones(6, dtype=torch.bool)
            p['blur'] = torch.ones(6, dtype=torch.bool)
        y, _ = aug(x, p)
        ref = _reference_per_image(aug, x, p)
        assert torch.allclose(aug.denormalize(y), aug.denormalize(ref),
                              atol=2e-3), seed
        if draw == 'image':
            assert torch.equal(y[4], x[4])  # nothing drawn: unchanged
