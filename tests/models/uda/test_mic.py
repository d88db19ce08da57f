"""MIC: patch masks (block size, ratio, per-image masks, zeroed pixels), the
loss against a hand computation, and that the MIC term of the DACS step
uses the teacher's pseudo-label of the *full* target image."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mmda.models.uda.masking import BlockMasking, MaskedImageConsistency
from mmda.registry import MODELS
from mmda.utils import register_all_modules
from tests.helpers import ROOT

register_all_modules(init_default_scope=True)
torch.set_num_threads(1)


# -------------------------------------------------------------------- masks
def test_mask_is_made_of_whole_blocks():
    m = BlockMasking(mask_ratio=0.7, block_size=64)
    mask = m.generate_masks(2, (512, 512),
                            generator=torch.Generator().manual_seed(0))
    assert mask.shape == (2, 1, 512, 512)
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    # constant inside each 64x64 block
    blocks = mask.view(2, 1, 8, 64, 8, 64)
    assert torch.equal(blocks.amin(dim=(3, 5)), blocks.amax(dim=(3, 5)))


def test_mask_ratio_is_the_masked_share():
    m = BlockMasking(mask_ratio=0.7, block_size=8)
    mask = m.generate_masks(64, (256, 256),
                            generator=torch.Generator().manual_seed(1))
    masked = 1.0 - mask.mean().item()  # 64 * 32 * 32 = 65536 cells
    assert masked == pytest.approx(0.7, abs=0.01)
    none = BlockMasking(mask_ratio=0.0, block_size=8).generate_masks(
        2, (64, 64))
    assert torch.equal(none, torch.ones_like(none))


def test_masks_differ_per_image_or_are_shared_as_configured():
    g = torch.Generator().manual_seed(0)
    per = BlockMasking(0.7, 8, per_image=True).generate_masks(4, (64, 64),
                                                              generator=g)
    assert not all(torch.equal(per[0], per[b]) for b in range(1, 4))
    shared = BlockMasking(0.7, 8, per_image=False).generate_masks(
        4, (64, 64), generator=g)
    assert all(torch.equal(shared[0], shared[b]) for b in range(1, 4))


def test_same_generator_state_gives_same_mask():
    m = BlockMasking(0.7, 16)
    a = m.generate_masks(2, (64, 64), torch.Generator().manual_seed(5))
    b = m.generate_masks(2, (64, 64), torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_masked_pixels_are_zero_and_visible_pixels_unchanged():
    mic = MaskedImageConsistency(mask_ratio=0.5, block_size=4,
                                 color_aug=False)
    img = torch.randn(2, 3, 16, 16)
    out, mask = mic.masked_images(img, None,
                                  torch.Generator().manual_seed(0))
    keep = mask.expand_as(img).bool()
    assert torch.equal(out[~keep], torch.zeros_like(out[~keep]))
    assert torch.equal(out[keep], img[keep])
    assert 0 < mask.mean() < 1


def test_bad_mask_arguments():
    with pytest.raises(ValueError, match='mask_ratio'):
        BlockMasking(mask_ratio=1.0)
    with pytest.raises(ValueError, match='block_size'):
        BlockMasking(block_size=0)
    with pytest.raises(ValueError, match='strong_aug'):
        MaskedImageConsistency(color_aug=True).masked_images(
            torch.zeros(1, 3, 8, 8), None)


# --------------------------------------------------------------------- loss
def test_loss_hand_computation():
    """Two pixels, two classes; logits (0, 0) and (ln 3, 0); pseudo-labels
    0 and 1; weights 0.5 (per-batch confidence): CE = ln 2 and ln 4;
    lambda 2 * mean(0.5 ln 2, 0.5 ln 4) = 1.5 ln 2."""
    mic = MaskedImageConsistency(loss_weight=2.0, color_aug=False)
    logits = torch.tensor([[0.0, torch.log(torch.tensor(3.0))],
                           [0.0, 0.0]]).view(1, 2, 1, 2)
    label = torch.tensor([[[0, 1]]])
    weight = torch.full((1, 1, 2), 0.5)
    loss = mic.loss(logits, label, weight)
    assert loss.item() == pytest.approx(1.5 * torch.log(torch.tensor(2.0))
                                        .item(), rel=1e-6)


# ------------------------------------------------- the MIC term in the step
def _tiny_dacs(**kw):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'deeplabv2_tiny.py'))
    seg = cfg.model.to_dict()
    model = MODELS.build(dict(type='DACS', segmentor=seg, teacher=True, **kw))
    model.init_weights()
    return model


def _batch(seed=0, B=2, H=64, W=128):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)
    lab = torch.randint(0, 19, (B, H // 16, W // 16), generator=g)
    lab = lab.repeat_interleave(16, 1).repeat_interleave(16, 2)
    src, tgt = [], []
    for b in range(B):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab[b][None])
        s.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        src.append(s)
        t = SegDataSample()
        t.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W)))
        tgt.append(t)
    return dict(
        inputs=list(torch.randint(0, 255, (B, 3, H, W), generator=g,
                                  dtype=torch.uint8)),
        data_samples=src,
        target_inputs=list(torch.randint(0, 255, (B, 3, H, W), generator=g,
                                         dtype=torch.uint8)),
        target_data_samples=tgt)


def test_mic_config_builds_module():
    model = _tiny_dacs(mic=dict(mask_ratio=0.7, block_size=8))
    assert isinstance(model.mic, MaskedImageConsistency)
    assert model.mic.masking.block_size == 8
    assert _tiny_dacs().mic is None


def test_mic_loss_uses_full_image_pseudo_label_and_weight():
    """Record what the MIC term is computed from: the pseudo-label must be
    the teacher's argmax on the *unmasked* target, the weight the per-batch
    confidence weight, the student input the masked (augmented) target."""
    model = _tiny_dacs(
        mic=dict(mask_ratio=0.7, block_size=8, color_aug=False),
        pseudo_label=dict(mode='threshold_uniform', threshold=0.05))
    model.train()
    seen = {}
    real_loss = model.mic.loss
    real_masked = model.mic.masked_images

    def spy_loss(logits, label, weight, ignore_index=255):
        seen['label'], seen['weight'] = label.clone(), weight.clone()
        out = real_loss(logits, label, weight, ignore_index)
        seen['loss'] = out.detach()
        seen['logits'] = logits.detach()
        return out

    def spy_masked(img, aug, generator=None):
        out, mask = real_masked(img, aug, generator=generator)
        seen['tgt_img'], seen['masked'], seen['mask'] = img, out, mask
        return out, mask

    model.mic.loss = spy_loss
    model.mic.masked_images = spy_masked
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.0))
    logs = model.train_step(_batch(), optim)
    assert 'mic.loss_ce' in logs
    assert logs['mic.loss_ce'].item() == pytest.approx(seen['loss'].item())
    # the teacher's pseudo-label of the full (unmasked) target
    with torch.no_grad():
        probs = model.teacher_probs(seen['tgt_img'])
    conf, full_pl = probs.max(1)
    assert torch.equal(seen['label'][:, 0], full_pl)
    # ... differs from what the teacher predicts on the masked image
    with torch.no_grad():
        masked_pl = model.teacher_probs(seen['masked']).argmax(1)
    assert not torch.equal(masked_pl, full_pl)
    # per-batch confidence weight: share of pixels above tau, uniform
    w = seen['weight']
    expected = (conf > 0.05).float().mean()
    assert torch.allclose(w, torch.full_like(w, expected.item()))
    # hand recomputation of the MIC loss from the recorded tensors
    ce = F.cross_entropy(seen['logits'], full_pl, reduction='none')
    assert seen['loss'].item() == pytest.approx(
        (ce * expected).mean().item(), rel=1e-5)
    assert (seen['mask'] == 0).any()


def test_own_confidence_weight_hand_case():
    """``pseudo_threshold``: MIC's own per-batch confidence weight q_T
    (MIC eq. 6; the authors' ``mask_pseudo_threshold``): 2 of 4 pixels
    reach tau = 0.9, so every pixel weighs 0.5 whatever the host's weight;
    without it the host's weight is used unchanged."""
    probs = torch.tensor([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9],
                          [0.3, 0.7]]).t().reshape(1, 2, 2, 2)
    host = torch.ones(1, 2, 2)
    own = MaskedImageConsistency(pseudo_threshold=0.9)
    w = own.pseudo_weight(probs, host)
    assert w.shape == host.shape
    assert torch.equal(w, torch.full_like(host, 0.5))
    same = MaskedImageConsistency()
    assert same.pseudo_weight(probs, host) is host
    with pytest.raises(ValueError):
        MaskedImageConsistency(pseudo_threshold=1.5)


def test_mic_own_threshold_in_the_step_leaves_the_mix_weight():
    """Host with a constant pseudo-label weight (toy DACS) and MIC with
    ``pseudo_threshold``: the MIC loss is weighted by the share of target
    pixels whose teacher confidence reaches tau, the mix loss keeps 1."""
    model = _tiny_dacs(
        mic=dict(mask_ratio=0.7, block_size=8, color_aug=False,
                 pseudo_threshold=0.9),
        pseudo_label=dict(mode='none'))
    model.train()
    # tau = the median teacher confidence of this batch (the untrained
    # teacher is far below the toy's 0.968), so the weight is about 0.5
    with torch.no_grad():
        tgt = model.data_preprocessor(
            dict(inputs=_batch()['target_inputs']), False)['inputs']
        model.mic.pseudo_threshold = model.teacher_probs(
            tgt).max(1)[0].median().item()
    seen = {}
    real_loss = model.mic.loss
    real_masked = model.mic.masked_images

    def spy_loss(logits, label, weight, ignore_index=255):
        seen['weight'] = weight.clone()
        return real_loss(logits, label, weight, ignore_index)

    def spy_masked(img, aug, generator=None):
        seen['tgt_img'] = img
        return real_masked(img, aug, generator=generator)

    model.mic.loss = spy_loss
    model.mic.masked_images = spy_masked
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.0))
    logs = model.train_step(_batch(), optim)
    with torch.no_grad():
        conf = model.teacher_probs(seen['tgt_img']).max(1)[0]
    expected = (conf >= model.mic.pseudo_threshold).float().mean().item()
    assert 0.0 < expected < 1.0  # the case tells the weights apart
    w = seen['weight']
    assert torch.allclose(w, torch.full_like(w, expected))
    assert logs['mic.pseudo_weight'].item() == pytest.approx(expected)
    assert logs['mix.pseudo_weight'].item() == pytest.approx(1.0)


def _grads_after_step(mic):
    torch.manual_seed(0)
    model = _tiny_dacs(mic=mic, pseudo_label=dict(mode='none'))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optim = OptimWrapper(torch.optim.SGD(params, lr=0.0))
    optim.zero_grad = lambda **kwargs: None  # keep the step's gradients
    model.train_step(_batch(), optim)
    return [p.grad.detach().clone() for p in params]


def test_mic_gradient_is_added_to_the_step():
    """Same seed, batch and weights: the only gradient difference between
    DACS and DACS+MIC is MIC's, and it is non-zero."""
    g0 = _grads_after_step(None)
    g1 = _grads_after_step(dict(mask_ratio=0.7, block_size=8))
    diffs = [(a - b).abs().sum().item() for a, b in zip(g0, g1)]
    assert all(torch.isfinite(g).all() for g in g1)
    assert sum(diffs) > 0


# ------------------------------------------------------------------ configs
@pytest.mark.parametrize('rel,block,own_tau', [
    ('configs/mic/daformer_gta2city.py', 64, None),
    ('configs/mic/toy_dacs_mic.py', 8, 0.968),
    ('configs/mic/toy_dacs_mic_night.py', 8, 0.968),
    ('configs/mic/toy_daformer_mic.py', 8, 0.968),
])
def test_mic_configs(rel, block, own_tau):
    """The real config shares the host's confidence weight (tau 0.968);
    the toy hosts weight their mix loss by a constant, so the toy MIC
    configs give MIC the paper's confidence weight of its own."""
    cfg = Config.fromfile(osp.join(ROOT, rel))
    mic = cfg.model.mic
    assert mic.mask_ratio == 0.7 and mic.loss_weight == 1.0
    assert mic.block_size == block and mic.per_image
    assert mic.get('pseudo_threshold') == own_tau
    if own_tau is None:
        assert cfg.model.pseudo_label.mode == 'threshold_uniform'
        assert cfg.model.pseudo_label.threshold == 0.968
    else:
        assert cfg.model.pseudo_label.mode == 'none'


# ------------------------------------ end to end: tools/train.py, resume, DDP
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_toy_dacs_mic_trains_and_resumes_exactly(tmp_path):
    """tools/train.py on the toy data: 4 uninterrupted iterations of
    DACS+MIC equal 2 + resume + 2 (the masks come from the per-iteration
    generator, so the resumed half draws the same masks)."""
    import torch as _torch
    from tests.integration.test_resume_methods import _flat, assert_same, train
    cfg = 'configs/mic/toy_dacs_mic.py'
    full, half = tmp_path / 'full', tmp_path / 'half'
    out = train(cfg, full, 4, [])
    assert 'mic.loss_ce' in out
    train(cfg, half, 2, [])
    out = train(cfg, half, 4, [], resume=str(half / 'iter_2.pth'))
    assert 'resumed' in out.lower()
    a = _torch.load(full / 'iter_4.pth', map_location='cpu',
                    weights_only=True)
    b = _torch.load(half / 'iter_4.pth', map_location='cpu',
                    weights_only=True)
    assert int(a['state_dict']['uda_iter']) == 4
    assert_same(a, b)
    assert _flat(a.get('param_schedulers')) == _flat(
        b.get('param_schedulers'))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_toy_daformer_mic_ddp_ranks_in_sync(tmp_path):
    from tests.integration.test_ddp_methods import assert_ranks_in_sync, dist_train, make_cfg
    cfg = make_cfg('configs/mic/toy_daformer_mic.py', str(tmp_path))
    proc = dist_train(cfg, tmp_path, 29632, timeout=500)
    out = proc.stdout + proc.stderr
    s0, _, _ = assert_ranks_in_sync(
        tmp_path, proc, 'MMSeparateDistributedDataParallel',
        ('student.', 'teacher.', 'imnet_backbone.'))
    assert 'mic.loss_ce' in out
