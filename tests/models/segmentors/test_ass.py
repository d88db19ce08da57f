"""ASS (Wang et al. 2020): discriminators, losses, the semi-supervised data
(source + T_L + T_U), the ASS segmentor's train_step, resume, DDP and the
configs in configs/ass/."""
import copy
import glob
import json
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper, OptimWrapperDict

from tests import helpers
import mmda  # noqa: F401  (registers everything)
from mmda.datasets.semi_target import (LabeledSubsetDataset,
                                       SemiTargetUDADataset, read_split_file,
                                       select_labeled_indices)
from mmda.models.discriminators.output_space import \
    output_space_adversarial_loss
from mmda.models.discriminators.semantic import (class_mean_features,
                                                 downsample_labels,
                                                 semantic_adversarial_loss)
from mmda.registry import DATASETS, MODELS
from tests.helpers import ROOT

CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
           'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
           'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
           'bicycle')
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
H, W = 32, 64


@pytest.fixture(autouse=True)
def _one_thread():
    # after conftest's session fixture (which allows 2 threads): the tiny
    # tensors here run fastest on one thread on the shared CPU
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ------------------------------------------------------------ discriminators
def test_output_space_discriminator_layout_and_shapes():
    d = MODELS.build(dict(type='OutputSpaceDiscriminator', in_channels=19))
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    # AdaptSegNet: 4x4 stride-2 convs 64-128-256-512 then 1 channel
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.in_channels for c in convs] == [19, 64, 128, 256, 512]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    acts = [m for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 4 and all(a.negative_slope == 0.2 for a in acts)
    out = d(torch.rand(2, 19, 64, 128))
    assert out.shape == (2, 1, 2, 4)
    out = d(torch.rand(1, 19, 512, 512))
    assert out.shape == (1, 1, 16, 16)
    # AdaptSegNet's name is registered too
    d2 = MODELS.build(dict(type='FCDiscriminator', in_channels=3,
                           channels=(4, 8)))
    assert d2(torch.rand(1, 3, 16, 16)).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match=r'expects \(B, 19, H, W\)'):
        d(torch.rand(1, 18, 32, 32))


def test_semantic_discriminator_layouts_and_shapes():
    n, c = 6, 3
    fcsa = MODELS.build(dict(type='FCSADiscriminator', in_channels=n,
                             num_classes=c))
    csa = MODELS.build(dict(type='CSADiscriminator', in_channels=n,
                            num_classes=c))
    # FC n -> 1024 -> LeakyReLU(0.2) -> FC 1024 -> 2c; the same as 1x1 convs
    assert (fcsa.fc1.in_features, fcsa.fc1.out_features) == (n, 1024)
    assert (fcsa.fc2.in_features, fcsa.fc2.out_features) == (1024, 2 * c)
    assert fcsa.act.negative_slope == 0.2
    assert csa.conv1.weight.shape == (1024, n, 1, 1)
    assert csa.conv2.weight.shape == (2 * c, 1024, 1, 1)
    feats = torch.randn(2, n, 4, 5)
    labels = torch.tensor([0, 1, 255, 2, 1]).repeat(2, 4, 1)  # (2, 4, 5)
    labels[1] = 1
    logits, classes = csa(feats, labels)
    assert logits.shape == (2, 2 * c, 4, 5) and classes.shape == (2, 4, 5)
    assert torch.equal(classes, labels)
    logits, classes = fcsa(feats, labels)
    # image 0 has classes 0, 1, 2; image 1 only class 1
    assert logits.shape == (4, 2 * c)
    assert classes.tolist() == [0, 1, 2, 1]
    # CSA == FCSA's network on every pixel (same weights)
    with torch.no_grad():
        csa.conv1.weight.copy_(fcsa.fc1.weight[..., None, None])
        csa.conv1.bias.copy_(fcsa.fc1.bias)
        csa.conv2.weight.copy_(fcsa.fc2.weight[..., None, None])
        csa.conv2.bias.copy_(fcsa.fc2.bias)
    pix = feats.permute(0, 2, 3, 1).reshape(-1, n)
    expected = fcsa.classify(pix).reshape(2, 4, 5, 2 * c).permute(0, 3, 1, 2)
    torch.testing.assert_close(csa.classify(feats), expected)
    with pytest.raises(ValueError, match=r'expects \(B, 6, h, w\)'):
        csa(torch.randn(1, 5, 2, 2), labels[:1, :2, :2])


def test_class_mean_features_by_hand():
    # F: 1 image, 2 channels, 2x3 pixels; classes 0 and 2 present, 1 absent,
    # one pixel ignored (255)
    feats = torch.tensor([[[[1., 2., 3.], [4., 5., 6.]],
                           [[10., 20., 30.], [40., 50., 60.]]]])
    labels = torch.tensor([[[0, 0, 2], [255, 2, 0]]])
    means, counts = class_mean_features(feats, labels, num_classes=3)
    assert counts.tolist() == [[3.0, 0.0, 2.0]]
    # class 0: pixels (0,0) (0,1) (1,2): ch0 (1+2+6)/3, ch1 (10+20+60)/3
    # class 2: pixels (0,2) (1,1): ch0 (3+5)/2, ch1 (30+50)/2
    torch.testing.assert_close(
        means, torch.tensor([[[3.0, 30.0], [0.0, 0.0], [4.0, 40.0]]]))
    # FCSA classifies exactly these vectors (absent class 1 skipped), with
    # the labels downsampled (nearest) from a 4x6 map
    fcsa = MODELS.build(dict(type='FCSADiscriminator', in_channels=2,
                             num_classes=3, hidden_channels=8))
    big = labels.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
    assert torch.equal(downsample_labels(big, (2, 3)), labels)
    logits, classes = fcsa(feats, big[:, None])
    assert classes.tolist() == [0, 2]
    torch.testing.assert_close(
        logits, fcsa.classify(torch.tensor([[3.0, 30.0], [4.0, 40.0]])))
    # a crop without any labelled pixel: no vector, zero loss with a graph
    logits, classes = fcsa(feats, torch.full((1, 2, 3), 255))
    assert logits.shape == (0, 6)
    loss = fcsa.loss(logits, classes, 'target')
    assert loss.item() == 0.0


def test_output_space_loss_by_hand():
    x = torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]]])
    sig = 1 / (1 + np.exp(-np.array([0.5, -1.0, 2.0, 0.0])))
    tgt = -np.mean(np.log(sig))  # eq. 2: log D(P)^{(1)}
    src = -np.mean(np.log(1 - sig))  # eq. 3 with z = 0
    assert output_space_adversarial_loss(x, 'target').item() == \
        pytest.approx(tgt, rel=1e-6)
    assert output_space_adversarial_loss(x, 'source').item() == \
        pytest.approx(src, rel=1e-6)
    with pytest.raises(ValueError, match='domain must be one of'):
        output_space_adversarial_loss(x, 'night')


def test_semantic_losses_by_hand():
    c = 2
    logits = torch.tensor([[1.0, 2.0, 0.5, -1.0],
                           [0.0, 0.3, 2.0, 1.0],
                           [5.0, 5.0, 5.0, 5.0]])
    classes = torch.tensor([0, 1, 255])
    lsm = np.log(np.exp(logits[:2].numpy()) /
                 np.exp(logits[:2].numpy()).sum(1, keepdims=True))
    # eq. 5: channel k + c for class k; eq. 6 (z = 0): channel k
    tgt = -(lsm[0, 0 + c] + lsm[1, 1 + c]) / 2
    src = -(lsm[0, 0] + lsm[1, 1]) / 2
    assert semantic_adversarial_loss(logits, classes, c, 'target').item() == \
        pytest.approx(tgt, rel=1e-6)
    assert semantic_adversarial_loss(logits, classes, c, 'source').item() == \
        pytest.approx(src, rel=1e-6)
    # CSA layout (B, 2c, h, w): eq. 7/8 per pixel, the same numbers
    pix = logits.t().reshape(1, 2 * c, 1, 3)
    assert semantic_adversarial_loss(pix, classes.reshape(1, 1, 3), c,
                                     'target').item() == \
        pytest.approx(tgt, rel=1e-6)
    with pytest.raises(ValueError, match='2c = 6 channels'):
        semantic_adversarial_loss(logits, classes, 3, 'target')


# ---------------------------------------------------------------- the data
def _write_domain(root, name, n, offset, h=H, w=W, seed=0):
    """Images whose colour depends on the class (+ a domain offset)."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, name, 'img'), exist_ok=True)
    os.makedirs(osp.join(root, name, 'ann'), exist_ok=True)
    for i in range(n):
        lab = np.zeros((h, w), np.uint8)
        lab[h // 2:] = 1
        lab[:, : w // 4] = 2
        r = int(rng.integers(0, h // 2))
        lab[r:r + 4, w // 2:w // 2 + 6] = 13
        lab[0, 0] = 255
        img = np.stack([lab * 9 + offset, lab * 5 + offset // 2,
                        255 - lab * 7], -1).astype(np.uint8)
        mmcv.imwrite(img, osp.join(root, name, 'img', f'{name}_{i:03d}.png'))
        mmcv.imwrite(lab, osp.join(root, name, 'ann', f'{name}_{i:03d}.png'))
    return dict(
        type='BaseSegDataset',
        metainfo=dict(classes=CLASSES),
        data_root=osp.join(root, name),
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png',
        seg_map_suffix='.png',
        pipeline=PIPELINE)


@pytest.fixture(scope='module')
def domains(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ass_data'))
    src = _write_domain(root, 'src', 6, 0)
    tgt = _write_domain(root, 'tgt', 10, 60, seed=1)
    return src, tgt


def _name(sample):
    return osp.basename(sample.img_path)


def test_labeled_split_selection(domains, tmp_path):
    src, tgt = domains
    full = DATASETS.build(tgt)
    a = select_labeled_indices(full, 4, seed=0)
    assert a == select_labeled_indices(full, 4, seed=0)
    assert a == sorted(np.random.default_rng(0).permutation(10)[:4].tolist())
    assert a != select_labeled_indices(full, 4, seed=1)
    assert set(a) <= set(select_labeled_indices(full, 6, seed=0))
    assert select_labeled_indices(full, 'all') == list(range(10))
    assert select_labeled_indices(full, 0) == []
    with pytest.raises(ValueError, match='has 10 images'):
        select_labeled_indices(full, 11)
    with pytest.raises(ValueError, match='int >= 0 or "all"'):
        select_labeled_indices(full, 'half')
    with pytest.raises(KeyError, match='num_labeled'):
        select_labeled_indices(full)
    split = tmp_path / 'split.txt'
    split.write_text('# comment\ntgt_003.png\n\ntgt_042.png\n')
    with pytest.raises(ValueError, match='1 entries not in the target'):
        select_labeled_indices(full, split_file=str(split))
    split.write_text('# comment\ntgt_003.png\n\ntgt_007.png\n')
    assert select_labeled_indices(full, 2, split_file=str(split)) == [3, 7]
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        select_labeled_indices(full, split_file=str(tmp_path / 'nope.txt'))


def test_semi_target_dataset(domains, tmp_path):
    src, tgt = domains
    ds = DATASETS.build(dict(
        type='SemiTargetUDADataset', source=src, target=tgt, num_labeled=3,
        split_seed=5, labeled_sampling='sequential',
        target_sampling='sequential'))
    assert len(ds) == 6 and ds.num_labeled == 3 and len(ds.target) == 7
    lab_names = [_name(ds.labeled[i]['data_samples']) for i in range(3)]
    unl_names = [_name(ds.target[i]['data_samples']) for i in range(7)]
    assert not set(lab_names) & set(unl_names)
    assert sorted(lab_names + unl_names) == [f'tgt_{i:03d}.png'
                                             for i in range(10)]
    expected = sorted(np.random.default_rng(5).permutation(10)[:3].tolist())
    assert lab_names == [f'tgt_{i:03d}.png' for i in expected]
    item = ds[4]
    assert set(item) == {'inputs', 'data_samples', 'labeled_inputs',
                         'labeled_data_samples', 'target_inputs',
                         'target_data_samples'}
    assert _name(item['data_samples']) == 'src_004.png'
    assert _name(item['labeled_data_samples']) == lab_names[4 % 3]
    assert _name(item['target_data_samples']) == unl_names[4 % 7]
    assert item['labeled_data_samples'].gt_sem_seg.data.shape == (1, H, W)

    # the split written to the work dir reproduces T_L exactly
    path = str(tmp_path / 'wd' / 'labeled_split.txt')
    ds.save_split(path)
    assert read_split_file(path) == lab_names
    assert open(path).readline().startswith('# labelled target split')
    again = SemiTargetUDADataset(source=src, target=tgt, split_file=path,
                                 labeled_sampling='sequential')
    assert [_name(again.labeled[i]['data_samples'])
            for i in range(3)] == lab_names
    # the oracle dataset holds the same images
    oracle = DATASETS.build(dict(type='LabeledSubsetDataset', dataset=tgt,
                                 num_labeled=3, split_seed=5))
    assert [_name(oracle[i]['data_samples']) for i in range(3)] == lab_names
    assert oracle.metainfo['classes'] == CLASSES
    with pytest.raises(ValueError, match='labelled subset is empty'):
        LabeledSubsetDataset(dataset=tgt, num_labeled=0)

    # no labelled target image: no T_L keys; all labelled: T_U = everything
    none = SemiTargetUDADataset(source=src, target=tgt, num_labeled=0)
    assert none.labeled is None and 'labeled_inputs' not in none[0]
    every = SemiTargetUDADataset(source=src, target=tgt, num_labeled='all')
    assert len(every.labeled) == 10 and len(every.target) == 10
    with pytest.raises(KeyError, match='missing `target`'):
        DATASETS.build(dict(type='SemiTargetUDADataset', source=src,
                            num_labeled=2))
    with pytest.raises(ValueError, match='unlabeled must be one of'):
        SemiTargetUDADataset(source=src, target=tgt, num_labeled=2,
                             unlabeled='none')


# ------------------------------------------------------------ the segmentor
def _tiny_segmentor(h=H, w=W):
    # a ConfigDict, as the Runner passes it
    return ConfigDict(helpers.tiny_segmentor(h, w, dropout=None))


def _ass_cfg(semantic='CSADiscriminator', **kwargs):
    cfg = dict(
        type='ASS',
        segmentor=_tiny_segmentor(),
        global_discriminator=dict(type='OutputSpaceDiscriminator',
                                  channels=(8, 16)),
        semantic_discriminator=None if semantic is None else dict(
            type=semantic, hidden_channels=32),
        lambda_gadv=0.1, lambda_sadv=0.5, lambda_gd=0.7, lambda_sd=0.9)
    cfg.update(kwargs)
    return cfg


def _build_ass(**kwargs):
    torch.manual_seed(0)  # PyTorch's default initialisation, seeded
    return MODELS.build(_ass_cfg(**kwargs))


def _optim(model, lr=0.01):
    wrappers = dict(student=OptimWrapper(
        torch.optim.SGD(model.student.parameters(), lr=lr, momentum=0.9,
                        nesterov=True)))
    if model.global_discriminator is not None:
        wrappers['global_discriminator'] = OptimWrapper(torch.optim.Adam(
            model.global_discriminator.parameters(), lr=1e-3,
            betas=(0.9, 0.99)))
    if model.semantic_discriminator is not None:
        wrappers['semantic_discriminator'] = OptimWrapper(torch.optim.Adam(
            model.semantic_discriminator.parameters(), lr=1e-3,
            betas=(0.9, 0.99)))
    return OptimWrapperDict(**wrappers)


def _make_batch(domains, num_labeled=3):
    src, tgt = domains
    ds = SemiTargetUDADataset(source=src, target=tgt, num_labeled=num_labeled,
                              labeled_sampling='sequential',
                              target_sampling='sequential')
    return pseudo_collate([ds[0], ds[1]])


@pytest.fixture(scope='module')
def batches(domains):
    return {n: _make_batch(domains, n) for n in (0, 3)}


def _batch(batches, num_labeled=3):
    return copy.deepcopy(batches[num_labeled])


def _expected_losses(model, data):
    """All ASS losses of one step, computed from copies of the networks."""
    m = copy.deepcopy(model)
    student, d_g, d_s = m.student, m.global_discriminator, \
        m.semantic_discriminator
    pre = lambda key: m.data_preprocessor(  # noqa: E731
        dict(inputs=data[f'{key}inputs'],
             data_samples=data[f'{key}data_samples']), True)
    src, tl, tu = pre(''), pre('labeled_'), pre('target_')

    def run(x):
        feats = student.extract_feat(x)
        return student.decode_head(feats), feats[-1]

    def ce(logits, samples):
        y = torch.stack([s.gt_sem_seg.data[0] for s in samples]).long()
        up = F.interpolate(logits, size=y.shape[-2:], mode='bilinear',
                           align_corners=False)
        # mmseg's CrossEntropyLoss (avg_non_ignore=False): mean over all
        # pixels, ignored ones contributing 0
        return F.cross_entropy(up, y, ignore_index=255,
                               reduction='none').mean(), y

    def softmax_up(logits, x):
        return F.softmax(F.interpolate(logits, size=x.shape[-2:],
                                       mode='bilinear', align_corners=False),
                         dim=1)

    def bce(logits, value):
        p = torch.sigmoid(logits)
        return -(torch.log(p) if value else torch.log(1 - p)).mean()

    def sem(feats, y, offset):
        # CSA: per-pixel 2c-way CE towards class k (+ c for the target)
        ys = F.interpolate(y[:, None].float(), size=feats.shape[-2:],
                           mode='nearest')[:, 0].long()
        logits = d_s.classify(feats)
        logp = F.log_softmax(logits, dim=1)
        valid = ys != 255
        idx = torch.where(valid, ys + offset * 19, torch.zeros_like(ys))
        picked = logp.gather(1, idx[:, None])[:, 0]
        return -(picked * valid).sum() / valid.sum()

    out = {}
    with torch.no_grad():
        logits_s, f_s = run(src['inputs'])
        out['src.loss_ce'], y_s = ce(logits_s, src['data_samples'])
        p_s = softmax_up(logits_s, src['inputs'])
        out['src.loss_gadv'] = 0.1 * bce(d_g(p_s), 1)
        out['src.loss_sadv'] = 0.5 * sem(f_s, y_s, 1)
        logits_tl, f_tl = run(tl['inputs'])
        out['tl.loss_ce'], y_tl = ce(logits_tl, tl['data_samples'])
        logits_tu, _ = run(tu['inputs'])
        p_tu = softmax_up(logits_tu, tu['inputs'])
        out['gd.loss_src'] = 0.7 * bce(d_g(p_s), 0)
        out['gd.loss_tgt'] = 0.7 * bce(d_g(p_tu), 1)
        out['sd.loss_src'] = 0.9 * sem(f_s, y_s, 0)
        out['sd.loss_tgt'] = 0.9 * sem(f_tl, y_tl, 1)
    return out


def test_train_step_losses_by_hand(batches):
    model = _build_ass()
    model.train()
    data = _batch(batches)
    expected = _expected_losses(model, data)
    log_vars = model.train_step(data, _optim(model))
    for key, value in expected.items():
        assert log_vars[key].item() == pytest.approx(value.item(), rel=1e-4,
                                                     abs=1e-6), key
    total = expected['src.loss_ce'] + expected['src.loss_gadv'] + \
        expected['src.loss_sadv'] + expected['tl.loss_ce']
    assert log_vars['loss'].item() == pytest.approx(total.item(), rel=1e-4)
    assert 'src.acc_seg' in log_vars and int(model.uda_iter) == 1


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return [not torch.equal(a, b) for a, b in zip(before, module.parameters())]


class _Params:
    """A list of tensors seen as a module's parameters."""

    def __init__(self, tensors):
        self.tensors = tensors

    def parameters(self):
        return iter(self.tensors)


@pytest.mark.parametrize('semantic', ['CSADiscriminator', 'FCSADiscriminator'])
def test_train_step_updates_each_network_with_its_own_gradients(
        batches, semantic):
    model = _build_ass(semantic=semantic)
    model.train()
    optim = _optim(model)
    nets = dict(student=model.student,
                global_discriminator=model.global_discriminator,
                semantic_discriminator=model.semantic_discriminator)
    before = {k: _params(v) for k, v in nets.items()}
    seen, pre = {}, {}

    def spy(key):
        wrapper = optim[key]
        orig = wrapper.step

        def step(**kwargs):
            seen[key] = {
                k: [p.grad is not None and bool(p.grad.abs().sum() > 0)
                    for p in v.parameters()]
                for k, v in nets.items()}
            pre[key] = {k: _params(v) for k, v in nets.items()}
            orig(**kwargs)
        wrapper.step = step

    for key in nets:
        spy(key)
    model.train_step(_batch(batches), optim)
    # the steps run in this order
    order = ['student', 'global_discriminator', 'semantic_discriminator']

    # each optimizer step sees gradients only in its own network ...
    for key in nets:
        assert any(seen[key][key]), key
        for other in nets:
            if other != key:
                assert not any(seen[key][other]), (key, other)
    # ... no step changes another network: the discriminators are as
    # initialised until their own step, the segmentor is not changed by the
    # discriminator steps
    for i, key in enumerate(order):
        for later in order[i:]:
            assert not any(_changed(before[later], _Params(pre[key][later]))
                           ), (key, later)
    for key in order[1:]:
        assert not any(_changed(pre[key]['student'], model.student))
    # every network moved
    for key, net in nets.items():
        assert sum(_changed(before[key], net)) > 0.5 * len(before[key]), key
    # requires_grad of the discriminators is restored, no gradient is left
    for net in nets.values():
        assert all(p.requires_grad for p in net.parameters())
        assert all(p.grad is None for p in net.parameters())


def test_ga_only_and_unsupervised(batches):
    model = _build_ass(semantic=None)
    model.train()
    data = _batch(batches, num_labeled=0)
    assert 'labeled_inputs' not in data
    log_vars = model.train_step(data, _optim(model))
    assert 'tl.loss_ce' not in log_vars and 'gd.loss_tgt' in log_vars
    # semantic adaptation without T_L, or a missing optimizer: clear errors
    model = _build_ass()
    with pytest.raises(KeyError, match='needs labelled target images'):
        model.train_step(data, _optim(model))
    with pytest.raises(KeyError, match="no optimizer for \\['semantic"):
        optim = _optim(model)
        del optim.optim_wrappers['semantic_discriminator']
        model.train_step(_batch(batches), optim)
    with pytest.raises(TypeError, match='OptimWrapperDict'):
        model.train_step(_batch(batches), optim['student'])


def test_bad_labels_raise(batches):
    model = _build_ass()
    data = _batch(batches)
    data['data_samples'][0].gt_sem_seg.data[:] = 40
    with pytest.raises(ValueError, match=r'values \[40\]'):
        model.train_step(data, _optim(model))


def test_predict_uses_the_segmentor(batches):
    model = _build_ass()
    model.eval()
    data = _batch(batches)
    out = model.val_step(dict(inputs=data['inputs'],
                              data_samples=data['data_samples']))
    assert len(out) == 2 and out[0].pred_sem_seg.data.shape == (1, H, W)
    keys = model.state_dict().keys()
    assert any(k.startswith('global_discriminator.') for k in keys)
    assert any(k.startswith('semantic_discriminator.') for k in keys)


# ------------------------------------------------------------ runner, resume
def _runner_cfg(domains, work_dir, max_iters, resume_from=None):
    src, tgt = domains
    poly = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=8,
                 by_epoch=False)]
    optim = dict(
        constructor='MultiOptimWrapperConstructor',
        student=dict(type='OptimWrapper', optimizer=dict(
            type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4,
            nesterov=True)),
        global_discriminator=dict(type='OptimWrapper', optimizer=dict(
            type='Adam', lr=1e-3, betas=(0.9, 0.99))),
        semantic_discriminator=dict(type='OptimWrapper', optimizer=dict(
            type='Adam', lr=1e-3, betas=(0.9, 0.99))))
    cfg = dict(
        default_scope='mmda',
        work_dir=work_dir,
        model=_ass_cfg(),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='SemiTargetUDADataset', source=src, target=tgt,
                         num_labeled=3, labeled_sampling='sequential',
                         target_sampling='sequential')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=optim,
        param_scheduler=dict(student=poly, global_discriminator=poly,
                             semantic_discriminator=poly),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=2),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='SaveLabeledSplitHook')],
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING',
        visualizer=dict(type='Visualizer', vis_backends=[]),
    )
    if resume_from is not None:
        cfg.update(resume=True, load_from=resume_from)
    return Config(cfg)


def _train(cfg):
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _assert_same(a, b, path=''):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape, path
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=path)
    elif isinstance(a, dict):
        assert set(a) == set(b), (path, set(a) ^ set(b))
        for k in a:
            _assert_same(a[k], b[k], f'{path}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f'{path}[{i}]')
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6), path
    else:
        assert a == b, path


@pytest.mark.slow
def test_resume_restores_all_networks_and_optimizers(domains, tmp_path):
    full = _train(_runner_cfg(domains, str(tmp_path / 'full'), 4))
    ck_full = torch.load(str(tmp_path / 'full' / 'iter_4.pth'),
                         map_location='cpu', weights_only=True)
    _train(_runner_cfg(domains, str(tmp_path / 'half'), 2))
    ck_half = str(tmp_path / 'half' / 'iter_2.pth')
    _train(_runner_cfg(domains, str(tmp_path / 'half'), 4,
                       resume_from=ck_half))
    ck_res = torch.load(str(tmp_path / 'half' / 'iter_4.pth'),
                        map_location='cpu', weights_only=True)
    # three optimizers and three scheduler lists in the checkpoint
    assert set(ck_full['optimizer']) == {
        'student', 'global_discriminator', 'semantic_discriminator'}
    assert set(ck_full['param_schedulers']) == set(ck_full['optimizer'])
    adam = ck_full['optimizer']['semantic_discriminator']['state']
    assert adam and all(float(s['step']) == 4 for s in adam.values())
    _assert_same(ck_full['state_dict'], ck_res['state_dict'], 'state_dict')
    _assert_same(ck_full['optimizer'], ck_res['optimizer'], 'optimizer')
    _assert_same(ck_full['param_schedulers'], ck_res['param_schedulers'],
                 'param_schedulers')
    # the labelled split is in the work dir
    split = read_split_file(str(tmp_path / 'full' / 'labeled_split.txt'))
    ds = full.train_dataloader.dataset
    assert split == ds.labeled_keys and len(split) == 3
    lr = ck_full['optimizer']['student']['param_groups'][0]['lr']
    # mmengine's PolyLR: (1 - t / (end - begin - 1))^0.9 after t steps
    assert lr == pytest.approx(0.01 * (1 - 4 / 7)**0.9, rel=1e-6)


# --------------------------------------------------------------------- DDP
def _ddp_worker(rank, world, init_file, data, result_dir):
    import torch.distributed as dist
    from mmengine.model import MMSeparateDistributedDataParallel

    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)  # a fresh process
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=world)
    try:
        model = _build_ass()
        model.train()
        wrapped = MMSeparateDistributedDataParallel(
            model, broadcast_buffers=False, find_unused_parameters=False)
        optim = _optim(model)
        # different data per rank; gradients are averaged
        part = {k: v[rank:rank + 1] for k, v in data.items()}
        for _ in range(2):
            wrapped.train_step(part, optim)
        # keys without the '.module' of the per-submodule DDP wrappers
        state = {k.replace('.module.', '.'): v
                 for k, v in model.state_dict().items()
                 if 'num_batches_tracked' not in k}
        torch.save(state, osp.join(result_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_ddp_separate_wrappers_keep_ranks_in_sync(batches, tmp_path):
    import torch.multiprocessing as mp
    data = _batch(batches)
    # fork: the children inherit the imported modules (spawning re-imports
    # mmseg/mmda, which takes most of the time of this test)
    mp.start_processes(_ddp_worker, args=(2, str(tmp_path / 'init'), data,
                                          str(tmp_path)),
                       nprocs=2, join=True, start_method='fork')
    s0 = torch.load(str(tmp_path / 'rank0.pth'), weights_only=True)
    s1 = torch.load(str(tmp_path / 'rank1.pth'), weights_only=True)
    for k in s0:
        if 'running' in k:  # BN statistics are per rank (no broadcast)
            continue
        torch.testing.assert_close(s0[k], s1[k], msg=k)
    init = _build_ass().state_dict()
    assert not torch.equal(init['semantic_discriminator.conv2.weight'],
                           s0['semantic_discriminator.conv2.weight'])


# ------------------------------------------------------------------ configs
ASS_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'ass', '*.py')))


@pytest.mark.parametrize('path', ASS_CONFIGS,
                         ids=[osp.basename(p) for p in ASS_CONFIGS])
def test_configs_load(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    if 'train_dataloader' not in cfg:  # model-only base (toy_ga_base.py)
        assert cfg.model.type == 'ASS'
        return
    ds = cfg.train_dataloader.dataset
    if 'oracle' in name:
        assert ds.type == 'LabeledSubsetDataset'
        assert cfg.model.type == 'EncoderDecoder'
        return
    assert cfg.model.type == 'ASS' and ds.type == 'SemiTargetUDADataset'
    keys = {'student', 'global_discriminator'}
    if cfg.model.get('semantic_discriminator') is not None:
        keys.add('semantic_discriminator')
    opt = {k for k in cfg.optim_wrapper if k != 'constructor'}
    assert opt == keys and set(cfg.param_scheduler) == keys
    assert cfg.optim_wrapper.constructor == 'MultiOptimWrapperConstructor'
    assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'
    if 'toy' in name:
        return
    # paper settings (§4.2)
    sgd = cfg.optim_wrapper.student.optimizer
    assert (sgd.type, sgd.lr, sgd.momentum, sgd.weight_decay, sgd.nesterov) \
        == ('SGD', 2.5e-4, 0.9, 5e-4, True)
    for k in keys - {'student'}:
        adam = cfg.optim_wrapper[k].optimizer
        assert (adam.type, adam.lr, tuple(adam.betas)) == \
            ('Adam', 1e-4, (0.9, 0.99))
        assert cfg.param_scheduler[k][0].power == 0.9
    if name.startswith(('ga_', 'gta')) and name.split('_')[-1] != 'base.py':
        count = name[:-3].split('_')[-1]
        assert str(ds.num_labeled) == count
    if 'csa' in name and 'fcsa' not in name:
        assert cfg.model.semantic_discriminator.type == 'CSADiscriminator'
        assert cfg.model.lambda_sadv == 0.01
        assert cfg.model.semantic_discriminator.in_channels == 2048


def test_oracle_and_ass_use_the_same_labelled_images():
    a = Config.fromfile(osp.join(ROOT, 'configs/ass/oracle_city_200.py'))
    b = Config.fromfile(osp.join(ROOT, 'configs/ass/ga_csa_gta2city_200.py'))
    da, db = a.train_dataloader.dataset, b.train_dataloader.dataset
    assert da.num_labeled == db.num_labeled == 200
    assert da.split_seed == db.split_seed
    assert da.dataset.data_root == db.target.data_root
    assert da.dataset.data_prefix == db.target.data_prefix


# ---------------------------------------------------------------- benchmark
def test_benchmark_configs_and_table(tmp_path):
    from tests.helpers import load_benchmark
    bench = load_benchmark('ass_toy')
    for method in bench.METHODS:
        cfg = bench.make_cfg(method, 10, 2, str(tmp_path), iters=7)
        ds = cfg.train_dataloader.dataset
        # every method of a seed gets the same labelled images
        assert (ds.num_labeled, ds.split_seed) == (10, 2)
        assert cfg.train_cfg.max_iters == 7 and cfg.randomness.seed == 2
        scheds = cfg.param_scheduler
        groups = scheds.values() if isinstance(scheds, dict) else [scheds]
        assert all(s.end == 7 for g in groups for s in g)
        expected = 'LabeledSubsetDataset' if method == 'oracle' else \
            'SemiTargetUDADataset'
        assert ds.type == expected
    records = [dict(num_labeled=10, method=m, seed=s, iters=7, miou=v)
               for m, vals in (('oracle', (40.0, 42.0)),
                               ('GA+CSA', (45.0, 47.0)))
               for s, v in enumerate(vals)]
    summary = bench.summarize(records)
    assert summary['10']['oracle']['mean'] == 41.0
    assert summary['10']['GA+CSA']['std'] == 1.0
    table = bench.format_table(summary, [10, 25], ['oracle', 'GA+CSA'], 7, 2)
    assert '| 10 | 41.0 ± 1.0 | 46.0 ± 1.0 | +5.0 |' in table
    assert '| 25 | - | - | - |' in table


def test_benchmark_reuses_runs_only_with_the_same_overrides(tmp_path,
                                                            monkeypatch):
    from tests.helpers import load_benchmark
    bench = load_benchmark('ass_toy')
    calls = []
    monkeypatch.setattr(bench, 'run_one',
                        lambda cfg: calls.append(cfg.model.lambda_sadv) or
                        50.0)
    work = str(tmp_path)
    with open(osp.join(work, 'results.jsonl'), 'w') as f:
        f.write(json.dumps(dict(num_labeled=10, method='GA+CSA', seed=0,
                                iters=7, miou=40.0,
                                cfg_options={'model.lambda_sadv': 0.5})) +
                '\n')
    args = ['--counts', '10', '--methods', 'GA+CSA', '--seeds', '1',
            '--iters', '7', '--work-dir', work]
    bench.main(args)  # no overrides: the recorded run does not count
    assert calls == [0.01]
    bench.main(args + ['--cfg-options', 'model.lambda_sadv=0.5'])
    bench.main(args)  # both recorded now
    assert calls == [0.01]
    bench.main(args + ['--cfg-options', 'model.lambda_sadv=0.1'])
    assert calls == [0.01, 0.1]


# Table 2(a) of Wang et al. 2020 measures FCSA's lambda_sadv at 100 and 500
# labelled images only: best 1 at 100 (54.11 = Table 1's 54.1) and 0.04 at
# 500 (59.89 = Table 1's 59.9). Other sizes take the nearest measured size's
# value (log scale), which the config must say.
FCSA_LAMBDA = {'50': 1.0, '100': 1.0, '200': 1.0, '500': 0.04,
               '1000': 0.04, 'all': 0.04}


@pytest.mark.parametrize('count', sorted(FCSA_LAMBDA))
def test_fcsa_configs_take_lambda_sadv_from_table_2a(count):
    path = osp.join(ROOT, 'configs', 'ass', f'ga_fcsa_gta2city_{count}.py')
    cfg = Config.fromfile(path)
    assert str(cfg.train_dataloader.dataset.num_labeled) == count
    assert cfg.model.semantic_discriminator.type == 'FCSADiscriminator'
    assert cfg.model.lambda_sadv == FCSA_LAMBDA[count]
    # the config itself (not only its base) sets and cites the value
    text = open(path).read()
    assert 'Table 2(a)' in text
    assert f'lambda_sadv={FCSA_LAMBDA[count]!r}' in text.replace(' ', '')
    if count not in ('100', '500'):
        assert 'nearest measured size' in text
