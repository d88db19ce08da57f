"""CycleGAN translator: networks, losses, image pool, train_step, Runner."""
import copy
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmda.registry import MODELS
from tests.helpers import ROOT


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny networks on a shared 2-core machine: threads only add overhead
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TINY_GEN = dict(type='ResnetGenerator', base_channels=4, num_blocks=1)
TINY_DISC = dict(type='PatchDiscriminator', base_channels=4, num_layers=2)
TINY_VGG = dict(type='VGGFeatureLoss', arch=(4, 'M', 8),
                layer='block2_conv1', loss_weight=1.0)


def tiny_cyclegan(**kwargs):
    cfg = dict(type='CycleGAN', generator=TINY_GEN, discriminator=TINY_DISC,
               feature_loss=TINY_VGG, pool_size=4, ema_decay=0.9,
               pool_seed=0)
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def build_optim(model, optimizer=None, clip=None):
    from mmda.engine.optimizers import MultiOptimWrapperConstructor
    optimizer = optimizer or dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))
    w = dict(type='OptimWrapper', optimizer=optimizer)
    if clip is not None:
        w['clip_grad'] = dict(max_norm=clip)
    cfg = {k: copy.deepcopy(w)
           for k in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')}
    return MultiOptimWrapperConstructor(cfg)(model)


def fake_batch(n=2, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(
        inputs=dict(
            img_a=[torch.randint(0, 256, (3, h, w), generator=g,
                                 dtype=torch.uint8) for _ in range(n)],
            img_b=[torch.randint(0, 256, (3, h, w), generator=g,
                                 dtype=torch.uint8) for _ in range(n)]),
        data_samples=None)


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(module, before):
    return any(not torch.equal(a, b)
               for a, b in zip(before, module.parameters()))


# ---------------------------------------------------------------- networks
def test_generator_shapes_and_range():
    gen = MODELS.build(TINY_GEN)
    gen.init_weights()
    x = torch.rand(2, 3, 32, 48) * 2 - 1
    y = gen(x)
    assert y.shape == (2, 3, 32, 48)
    assert y.abs().max() <= 1.0
    # sizes that are not multiples of 4 are padded and cropped back
    assert gen(torch.rand(1, 3, 30, 34)).shape == (1, 3, 30, 34)
    with pytest.raises(ValueError, match='expects'):
        gen(torch.rand(1, 1, 32, 32))


def test_generator_default_is_paper_architecture():
    from mmda.models.translators.generators import ResnetBlock
    gen = MODELS.build(dict(type='ResnetGenerator'))
    blocks = [m for m in gen.modules() if isinstance(m, ResnetBlock)]
    assert len(blocks) == 9
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in gen.modules())
    ups = [i for i, m in enumerate(gen.model) if isinstance(m, nn.Upsample)]
    assert len(ups) == 2
    for i in ups:
        up, conv = gen.model[i], gen.model[i + 1]
        assert up.mode == 'bilinear' and up.scale_factor == 2
        assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3)
    # channels of the replaced deconvs: 256 -> 128 -> 64
    assert [(gen.model[i + 1].in_channels, gen.model[i + 1].out_channels)
            for i in ups] == [(256, 128), (128, 64)]


def test_upsample_conv_vs_deconv():
    up = MODELS.build(dict(TINY_GEN, upsample_mode='bilinear_conv'))
    de = MODELS.build(dict(TINY_GEN, upsample_mode='deconv'))
    deconvs = [m for m in de.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 2
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in up.modules())
    # same kernel size and channels -> same number of parameters
    assert sum(p.numel() for p in up.parameters()) == sum(
        p.numel() for p in de.parameters())
    x = torch.rand(1, 3, 32, 32)
    assert de(x).shape == up(x).shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match='upsample_mode'):
        MODELS.build(dict(TINY_GEN, upsample_mode='nearest'))


def test_patchgan_receptive_field_and_shape():
    disc = MODELS.build(dict(type='PatchDiscriminator'))
    assert disc.receptive_field() == 70
    assert disc.conv_specs() == [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]
    tiny = MODELS.build(dict(type='PatchDiscriminator', base_channels=2,
                             norm_cfg=None))
    tiny.init_weights()
    assert tiny.receptive_field() == 70
    x = torch.randn(1, 3, 160, 160, requires_grad=True)
    out = tiny(x)
    assert out.shape == (1, 1, 18, 18)  # 160 -> 80 -> 40 -> 20 -> 19 -> 18
    # empirical receptive field of an interior logit (no norm: local)
    out[0, 0, 9, 9].backward()
    nz = x.grad[0].abs().sum(0).nonzero()
    extent = (nz.max(0).values - nz.min(0).values + 1).tolist()
    assert extent == [70, 70]
    assert MODELS.build(dict(type='PatchDiscriminator',
                             num_layers=2)).receptive_field() == 34


# ------------------------------------------------------------------ losses
def test_gan_losses_match_hand_computation():
    pred = torch.tensor([[0.2, -0.5], [1.5, 0.0]])
    ls = MODELS.build(dict(type='GANLoss', gan_type='lsgan'))
    assert torch.isclose(ls(pred, True),
                         torch.tensor((0.64 + 2.25 + 0.25 + 1.0) / 4))
    assert torch.isclose(ls(pred, False),
                         torch.tensor((0.04 + 0.25 + 2.25 + 0.0) / 4))
    va = MODELS.build(dict(type='GANLoss', gan_type='vanilla',
                           loss_weight=2.0))
    sig = [1 / (1 + math.exp(-v)) for v in (0.2, -0.5, 1.5, 0.0)]
    real = -sum(math.log(s) for s in sig) / 4
    fake = -sum(math.log(1 - s) for s in sig) / 4
    assert math.isclose(va(pred, True).item(), 2 * real, rel_tol=1e-5)
    assert math.isclose(va(pred, False).item(), 2 * fake, rel_tol=1e-5)
    with pytest.raises(ValueError, match='gan_type'):
        MODELS.build(dict(type='GANLoss', gan_type='wgan'))


def test_vgg_layer_indices_match_torchvision_layout():
    import torchvision
    from mmda.models.losses.vgg_feature_loss import (VGG19_CFG,
                                                     make_vgg_layers,
                                                     vgg_layer_index)
    assert vgg_layer_index(VGG19_CFG, 'block5_conv2') == 31
    assert vgg_layer_index(VGG19_CFG, 'conv5_2') == 30
    assert vgg_layer_index(VGG19_CFG, 'relu1_1') == 1
    assert vgg_layer_index(VGG19_CFG, 'block3_conv4') == 17
    tv = torchvision.models.vgg.make_layers(
        torchvision.models.vgg.cfgs['E'])
    assert isinstance(tv[30], nn.Conv2d) and isinstance(tv[31], nn.ReLU)
    ours = make_vgg_layers(VGG19_CFG)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in tv.state_dict().items()}
    with pytest.raises(ValueError, match='does not exist'):
        vgg_layer_index(VGG19_CFG, 'block6_conv1')
    with pytest.raises(ValueError, match='expected'):
        vgg_layer_index(VGG19_CFG, 'fc7')


def test_feature_loss_hand_computation_and_frozen():
    torch.manual_seed(0)
    loss_fn = MODELS.build(dict(TINY_VGG, loss_weight=0.5))
    vgg = loss_fn.vgg
    assert len(vgg) == 5  # conv, relu, pool, conv, relu (block2_conv1)
    real = torch.rand(2, 3, 8, 8) * 2 - 1
    fake = (torch.rand(2, 3, 8, 8) * 2 - 1).requires_grad_(True)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def feats(x):
        x = ((x + 1) / 2 - mean) / std
        x = F.relu(F.conv2d(x, vgg[0].weight, vgg[0].bias, padding=1))
        x = F.max_pool2d(x, 2)
        return F.relu(F.conv2d(x, vgg[3].weight, vgg[3].bias, padding=1))

    expected = 0.5 * ((feats(fake) - feats(real))**2).mean()
    loss = loss_fn(fake, real)
    assert torch.allclose(loss, expected, atol=1e-6)
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad
               for p in vgg.parameters())
    # 'sum' reduction = squared L2 norm per image, averaged over the batch
    s = MODELS.build(dict(TINY_VGG, reduction='sum'))
    s._vgg.load_state_dict(vgg.state_dict())
    with torch.no_grad():
        assert torch.allclose(
            s(fake, real),
            ((feats(fake) - feats(real))**2).sum() / 2, rtol=1e-5)
    # hidden from parameters/state_dict, stays in eval mode, moves with .to
    assert list(loss_fn.parameters()) == []
    assert len(loss_fn.state_dict()) == 0
    loss_fn.train()
    assert not vgg.training
    loss_fn.to(torch.float64)
    assert vgg[0].weight.dtype == torch.float64


def test_vgg_checkpoint_loading(tmp_path):
    from mmda.models.losses.vgg_feature_loss import make_vgg_layers
    torch.manual_seed(1)
    feats = make_vgg_layers((4, 'M', 8, 8))
    sd = {f'features.{k}': v for k, v in feats.state_dict().items()}
    sd['classifier.0.weight'] = torch.zeros(2, 2)  # ignored
    path = str(tmp_path / 'vgg.pth')
    torch.save(sd, path)
    loss_fn = MODELS.build(dict(TINY_VGG, arch=(4, 'M', 8, 8),
                                vgg_checkpoint=path))
    assert torch.equal(loss_fn.vgg[3].weight, feats[3].weight)
    assert len(loss_fn.vgg) == 5
    bad = str(tmp_path / 'bad.pth')
    torch.save({'features.0.weight': feats[0].weight}, bad)
    with pytest.raises(KeyError, match='features weights|lacks VGG'):
        MODELS.build(dict(TINY_VGG, vgg_checkpoint=bad))
    with pytest.raises(FileNotFoundError, match='nothing'):
        MODELS.build(dict(TINY_VGG, vgg_checkpoint=str(tmp_path / 'no.pth')))


# -------------------------------------------------------------- image pool
def test_image_pool_seeded_behaviour():
    from mmda.models.utils import ImagePool
    pool = ImagePool(3, torch.Generator().manual_seed(5))
    first = torch.arange(3.).view(3, 1, 1, 1)
    # filling: returned unchanged, stored
    assert torch.equal(pool.query(first), first)
    assert len(pool) == 3
    # replicate the draws with the same seed
    g = torch.Generator().manual_seed(5)
    torch.rand(3, generator=g), torch.randint(3, (3, ), generator=g)
    stored = [0., 1., 2.]
    new = torch.arange(10., 14.).view(4, 1, 1, 1)
    coins = torch.rand(4, generator=g)
    picks = torch.randint(3, (4, ), generator=g)
    expected = []
    for i in range(4):
        if coins[i] < 0.5:
            j = int(picks[i])
            expected.append(stored[j])
            stored[j] = 10. + i
        else:
            expected.append(10. + i)
    out = pool.query(new)
    assert out.flatten().tolist() == expected
    assert sorted(float(x) for x in pool.images) == sorted(stored)
    # ~half of the returned images are old ones
    pool = ImagePool(5, torch.Generator().manual_seed(0))
    pool.query(torch.full((5, 1, 1, 1), -1.))
    out = torch.cat([pool.query(torch.full((1, 1, 1, 1), float(i)))
                     for i in range(2000)]).flatten()
    old = (out != torch.arange(2000.)).float().mean().item()
    assert 0.45 < old < 0.55
    assert torch.equal(ImagePool(0).query(new), new)


# -------------------------------------------------------------- train step
def test_train_step_updates_all_networks_and_ema():
    torch.manual_seed(0)
    model = tiny_cyclegan()
    optim = build_optim(model)
    nets = {k: getattr(model, k) for k in
            ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')}
    before = {k: snapshot(m) for k, m in nets.items()}
    ema_before = {k: snapshot(getattr(model, k + '_ema'))
                  for k in ('gen_a2b', 'gen_b2a')}
    # EMA starts as an exact copy of its generator
    for k in ('gen_a2b', 'gen_b2a'):
        assert all(torch.equal(a, b)
                   for a, b in zip(ema_before[k], before[k]))
    vgg_before = snapshot(model.feature_loss.vgg)
    log = model.train_step(fake_batch(), optim)
    for k in ('loss_gen', 'loss_disc', 'loss_gan_a2b', 'loss_cycle_a',
              'loss_feat_a2b', 'loss_disc_b_fake'):
        assert k in log and torch.isfinite(log[k])
    for k, m in nets.items():
        assert changed(m, before[k]), k
    for k in ('gen_a2b', 'gen_b2a'):
        ema = getattr(model, k + '_ema')
        for e0, p1, e1 in zip(ema_before[k], nets[k].parameters(),
                              ema.parameters()):
            assert torch.allclose(e1, 0.9 * e0 + 0.1 * p1, atol=1e-7)
        assert all(not p.requires_grad for p in ema.parameters())
    assert all(torch.equal(a, b)
               for a, b in zip(vgg_before,
                               model.feature_loss.vgg.parameters()))
    assert all(p.grad is None for p in model.feature_loss.vgg.parameters())
    assert int(model.train_steps) == 1 and int(model.ema_steps) == 1
    # discriminators are trainable again after the generator step
    assert all(p.requires_grad for p in model.disc_a.parameters())
    assert 'gen_a2b_ema.model.0.weight' in model.state_dict()
    assert not any('vgg' in k for k in model.state_dict())


def test_ema_warmup_and_discriminator_steps():
    torch.manual_seed(0)
    model = tiny_cyclegan(ema_warmup=True, ema_decay=0.99,
                          discriminator_steps=2)
    optim = build_optim(model)
    g0, d0 = snapshot(model.gen_a2b), snapshot(model.disc_a)
    model.train_step(fake_batch(), optim)  # discriminators only
    assert not changed(model.gen_a2b, g0)
    assert changed(model.disc_a, d0)
    assert int(model.ema_steps) == 0
    model.train_step(fake_batch(seed=1), optim)
    assert changed(model.gen_a2b, g0)
    # warm start: first decay min(1 - 1/1, 0.99) = 0 -> EMA == weights
    assert int(model.ema_steps) == 1
    assert all(torch.equal(a, b) for a, b in zip(
        model.gen_a2b.parameters(), model.gen_a2b_ema.parameters()))


def test_grad_clipping_per_network():

    def deltas(clip):
        torch.manual_seed(0)
        model = tiny_cyclegan(cycle_loss_weight=1000.0,
                              feature_loss=dict(TINY_VGG, loss_weight=1e3))
        optim = build_optim(model, dict(type='SGD', lr=1.0), clip)
        before = {k: snapshot(getattr(model, k)) for k in
                  ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')}
        model.train_step(fake_batch(), optim)
        out = {}
        for k, b in before.items():
            sq = sum(((p.detach() - q)**2).sum()
                     for p, q in zip(getattr(model, k).parameters(), b))
            out[k] = float(sq.sqrt())
        return out

    free, clipped = deltas(None), deltas(0.05)
    # SGD lr 1: ||Δθ|| = ||clipped grad|| <= max_norm, per network
    for k in free:
        assert clipped[k] <= 0.05 * (1 + 1e-4), (k, clipped[k])
        if free[k] > 0.05:
            assert clipped[k] == pytest.approx(0.05, rel=1e-3)
    assert free['gen_a2b'] > 0.05 and free['gen_b2a'] > 0.05


def test_forward_modes_and_errors():
    model = tiny_cyclegan()
    data = model.data_preprocessor(fake_batch(n=1), False)
    inputs = data['inputs']
    assert inputs['img_a'].min() >= -1 and inputs['img_a'].max() <= 1
    out = model(inputs, mode='tensor')
    assert out['fake_b'].shape == (1, 3, 32, 32)
    assert torch.equal(model(inputs['img_a']),
                       model.gen_a2b_ema(inputs['img_a']))
    preds = model.val_step(fake_batch(n=2))
    assert len(preds) == 2 and preds[0].fake_b.shape == (3, 32, 32)
    losses = model(inputs, mode='loss')
    assert 'loss_cycle_a' in losses and 'loss_disc_a_real' in losses
    with pytest.raises(ValueError, match='mode'):
        model(inputs, mode='bogus')
    from mmengine.optim import OptimWrapper
    with pytest.raises(TypeError, match='MultiOptimWrapperConstructor'):
        model.train_step(fake_batch(), OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.1)))


def test_multi_optim_constructor_errors():
    from mmda.engine.optimizers import MultiOptimWrapperConstructor
    model = tiny_cyclegan()
    w = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    with pytest.raises(KeyError, match='gen_x'):
        MultiOptimWrapperConstructor(dict(gen_x=w))(model)
    with pytest.raises(ValueError, match='top-level'):
        MultiOptimWrapperConstructor(dict(w))
    ow = MultiOptimWrapperConstructor(
        dict(gens=dict(w, modules=['gen_a2b', 'gen_b2a'])))(model)
    n = sum(p.numel() for g in ow['gens'].optimizer.param_groups
            for p in g['params'])
    assert n == 2 * sum(p.numel() for p in model.gen_a2b.parameters())
    with pytest.raises(ValueError, match='claimed'):
        MultiOptimWrapperConstructor(dict(gen_a2b=w, g2=dict(
            w, modules=['gen_a2b'])))(model)


# ------------------------------------------------------------------ runner
def _toy_cfg(work_dir, max_iters=2, name='cyclegan_test'):
    from mmengine.config import Config
    root = ROOT
    cfg = Config.fromfile(osp.join(root, 'configs/cyclegan/toy_day2night.py'))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.visualizer.name = name
    cfg.model.generator = dict(cfg.model.generator, base_channels=4,
                               num_blocks=1)
    cfg.model.discriminator = dict(cfg.model.discriminator, base_channels=4,
                                   num_layers=2)
    cfg.model.feature_loss = dict(cfg.model.feature_loss, arch=(4, 'M', 8),
                                 layer='block2_conv1')
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.num_workers = 0
        dl.persistent_workers = False
        dl.batch_size = 2
    cfg.train_dataloader.dataset.pipeline[1].crop_size = (32, 32)
    # a tiny toy benchmark (the full one takes a while to generate)
    toy = dict(data_root='toy', num_train=4, num_val=2)
    for dl, split in ((cfg.train_dataloader, 'train'),
                      (cfg.val_dataloader, 'val')):
        for dom, name in (('domain_a', 'source'), ('domain_b', 'night')):
            dl.dataset[dom].sources = [dict(toy=name, split=split, **toy)]
    cfg.val_dataloader.dataset.max_samples = 2
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                         val_interval=2)
    cfg.param_scheduler = [dict(type='MultiStepLR', milestones=[1],
                                gamma=0.5, by_epoch=False)]
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


def test_runner_train_val_checkpoint_and_resume(tmp_path, monkeypatch):
    import glob

    from mmengine.runner import Runner

    # Short relative paths: mmengine pretty-prints the config (yapf) for the
    # log and every checkpoint, which gets very slow with long tmp paths.
    monkeypatch.chdir(tmp_path)
    cfg = _toy_cfg('w')
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt_path = osp.join('w', 'iter_2.pth')
    assert osp.isfile(ckpt_path)
    assert glob.glob(osp.join('w', '*', 'vis_data', 'vis_image',
                              'translation_0_0*.png'))
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    assert set(ckpt['optimizer']) == {'gen_a2b', 'gen_b2a', 'disc_a',
                                      'disc_b'}
    sd = ckpt['state_dict']
    assert any(k.startswith('gen_a2b_ema.') for k in sd)
    assert int(sd['train_steps']) == 2 and int(sd['ema_steps']) == 2
    # lr dropped by 0.5 after iteration 1 in all four optimizers
    for k in ckpt['optimizer']:
        assert ckpt['optimizer'][k]['param_groups'][0]['lr'] == \
            pytest.approx(1e-4)

    # resume: everything restored, no further iteration at max_iters=2
    cfg2 = _toy_cfg('r', name='cyclegan_test_resumed')
    cfg2.resume = True
    cfg2.load_from = ckpt_path
    runner2 = Runner.from_cfg(cfg2)
    runner2.train()
    assert runner2.iter == 2
    restored = runner2.optim_wrapper.state_dict()
    for k, saved in ckpt['optimizer'].items():
        st, st_saved = restored[k]['state'], saved['state']
        assert st.keys() == st_saved.keys() and len(st) > 0
        for pid in st:
            assert torch.equal(st[pid]['exp_avg'], st_saved[pid]['exp_avg'])
            assert torch.equal(st[pid]['exp_avg_sq'],
                               st_saved[pid]['exp_avg_sq'])
        assert restored[k]['param_groups'][0]['lr'] == pytest.approx(1e-4)
    model = runner2.model
    assert int(model.ema_steps) == 2 and int(model.train_steps) == 2
    for k, v in sd.items():
        assert torch.equal(model.state_dict()[k], v), k


def test_separate_ddp_wrapper_two_steps():
    """Under MMSeparateDistributedDataParallel (gloo, world size 1) each
    network is its own DDP module; two consecutive steps must not trip DDP's
    "finish reduction" check (the frozen discriminators are called unwrapped
    in the generator step)."""
    import socket

    import torch.distributed as dist
    from mmengine.model import MMSeparateDistributedDataParallel
    from mmengine.model.wrappers import MMDistributedDataParallel
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        model = tiny_cyclegan(discriminator_steps=1)
        wrapped = MMSeparateDistributedDataParallel(
            model, broadcast_buffers=False, find_unused_parameters=False)
        inner = wrapped.module
        for k in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b'):
            assert isinstance(getattr(inner, k), MMDistributedDataParallel)
        for k in ('gen_a2b_ema', 'gen_b2a_ema', 'feature_loss'):
            assert not isinstance(getattr(inner, k),
                                  MMDistributedDataParallel)
        optim = build_optim(wrapped)
        g0 = snapshot(inner.gen_a2b)
        for i in range(2):
            log = wrapped.train_step(fake_batch(seed=i), optim)
            assert torch.isfinite(log['loss_gen'])
        assert changed(inner.gen_a2b, g0)
        assert int(inner.ema_steps) == 2
    finally:
        dist.destroy_process_group()


def test_paper_config_city2night():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs/cyclegan/city2night.py'))
    m = cfg.model
    assert m.generator.num_blocks == 9
    assert m.generator.upsample_mode == 'bilinear_conv'
    assert m.cycle_loss_weight == 10 and m.ema_decay == 0.9999
    assert m.pool_size == 50 and m.gan_loss.gan_type == 'lsgan'
    assert m.feature_loss.layer == 'block5_conv2'
    for k in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b'):
        w = cfg.optim_wrapper[k]
        assert w.optimizer.lr == 2e-4 and tuple(w.optimizer.betas) == (0.5,
                                                                        0.999)
        assert w.clip_grad.max_norm == 5.0
    assert cfg.param_scheduler[0].milestones == [100000]
    assert cfg.param_scheduler[0].gamma == 0.5
    assert cfg.train_cfg.max_iters == 700000
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'
    disc = MODELS.build(m.discriminator)
    assert disc.receptive_field() == 70
    # the configured VGG19 file is not shipped: a clear error, no download
    with pytest.raises(FileNotFoundError, match='vgg_checkpoint'):
        MODELS.build(m.feature_loss)
    loss = MODELS.build(dict(m.feature_loss, vgg_checkpoint=None))
    assert loss.layer_index == 31 and len(loss.vgg) == 32


# ---------------------------------------------------------------- benchmark
def _seg_bench():
    from tests.helpers import load_benchmark
    return load_benchmark('cyclegan_seg_toy')


def test_seg_benchmark_configs_and_summary(tmp_path):
    """tools/benchmarks/cyclegan_seg_toy.py: the two GANs differ only in the
    feature loss, the translated rows use the trained EMA generator, and the
    summary compares the day mIoU each translation loses."""
    bench = _seg_bench()
    plain = bench.gan_cfg('cyclegan', str(tmp_path), 7, 0)
    fl = bench.gan_cfg('cyclegan_fl', str(tmp_path), 7, 0,
                       vgg_checkpoint='vgg.pth')
    assert plain.model.feature_loss is None
    assert fl.model.feature_loss.vgg_checkpoint == 'vgg.pth'
    assert plain.model.generator == fl.model.generator
    assert plain.train_cfg.max_iters == fl.train_cfg.max_iters == 7
    assert plain.work_dir != fl.work_dir
    fl2 = bench.gan_cfg('cyclegan_fl', str(tmp_path), 7, 0,
                        feature_weight=1.0)
    assert fl2.model.feature_loss.loss_weight == 1.0
    assert fl.model.feature_loss.loss_weight == 0.1  # the toy config's
    assert len({plain.work_dir, fl.work_dir, fl2.work_dir}) == 3
    mt = bench._mean_teacher_toy()
    gan = dict(cyclegan_fl=dict(ckpt='g.pth',
                                generator=fl.model.generator.to_dict()))
    cfg = bench.seg_cfg(mt, 'cyclegan_fl', 1, str(tmp_path), 5, gan)
    assert cfg.model.translator.type == 'Day2NightTranslator'
    assert cfg.model.translator.checkpoint == 'g.pth'
    assert cfg.model.sup_translated and not cfg.model.sup_day
    assert cfg.train_cfg.max_iters == 5 and cfg.randomness.seed == 1
    base = bench.seg_cfg(mt, 'baseline', 1, str(tmp_path), 5, gan)
    assert base.model.translator is None and base.model.sup_day
    recs = [dict(row=r, seed=s, day=d + s, night=n)
            for r, d, n in (('baseline', 60.0, 20.0),
                            ('cyclegan', 50.0, 30.0),
                            ('cyclegan_fl', 56.0, 31.0)) for s in (0, 2)]
    summary = bench.summarize(recs)
    assert summary['cyclegan_fl']['day']['mean'] == 57.0
    assert summary['cyclegan']['day']['std'] == 1.0
    assert summary['day_loss'] == dict(cyclegan=10.0, cyclegan_fl=4.0)
    assert summary['fl_keeps_day'] is True


def test_seg_benchmark_feature_net_loads_into_feature_loss(tmp_path):
    """The toy feature net is saved in torchvision VGG layout: the feature
    loss loads exactly its weights."""
    bench = _seg_bench()
    arch = (4, 'M', 8)
    path = bench.pretrain_feature_net(arch, str(tmp_path), iters=2, seed=0)
    state = torch.load(path)
    assert sorted(state) == ['features.0.bias', 'features.0.weight',
                             'features.3.bias', 'features.3.weight']
    loss = MODELS.build(dict(type='VGGFeatureLoss', arch=arch,
                             layer='block2_conv1', vgg_checkpoint=path))
    assert torch.equal(loss.vgg[3].weight, state['features.3.weight'])
    # reused, not trained again; another length is another file
    assert bench.pretrain_feature_net(arch, str(tmp_path), 2, 0) == path
    other = bench.pretrain_feature_net(arch, str(tmp_path), 3, 0)
    assert other != path and not torch.equal(
        torch.load(other)['features.3.weight'], state['features.3.weight'])


# ----------------------------- GAN loss type of the real configs (item 11)
def test_city2night_configs_state_their_gan_loss_type():
    from mmengine.config import Config
    cdir = osp.join(ROOT, 'configs', 'cyclegan')
    ls = Config.fromfile(osp.join(cdir, 'city2night.py'))
    bce = Config.fromfile(osp.join(cdir, 'city2night_bce.py'))
    # a named switch, and the model follows it
    assert (ls.gan_type, ls.model.gan_loss.gan_type) == ('lsgan', 'lsgan')
    assert (bce.gan_type, bce.model.gan_loss.gan_type) == ('vanilla',
                                                           'vanilla')
    text = open(osp.join(cdir, 'city2night.py')).read()
    assert 'eq. 4' in text and 'least-squares' in text
    # 'vanilla' is eq. 4's discriminator objective:
    # 0.5 * -[log D(x_t) + log(1 - D(G(x_s)))] with D = sigmoid(logit),
    # as CycleGAN's discriminator step weighs it
    loss = MODELS.build(dict(bce.model.gan_loss))
    real, fake = torch.tensor([[0.3, -1.2]]), torch.tensor([[0.8, -0.1]])
    d = 0.5 * loss(real, True) + 0.5 * loss(fake, False)
    sig = torch.sigmoid
    ref = -0.5 * (torch.log(sig(real)).mean() +
                  torch.log(1 - sig(fake)).mean())
    assert torch.isclose(d, ref, atol=1e-6)


def test_minimax_gan_loss_is_eq4_for_the_generator():
    # eq. 4: D maximises log D(x_t) + log(1 - D(G(x_s))); G minimises
    # log(1 - D(G(x_s))) ('minimax'); 'vanilla' uses -log D(G(x_s)) instead
    pred = torch.tensor([[0.4, -2.0, 1.0]])
    mm = MODELS.build(dict(type='GANLoss', gan_type='minimax'))
    va = MODELS.build(dict(type='GANLoss', gan_type='vanilla'))
    sig = torch.sigmoid(pred)
    assert torch.isclose(mm(pred, True, is_generator=True),
                         torch.log(1 - sig).mean(), atol=1e-6)
    assert torch.isclose(va(pred, True, is_generator=True),
                         -torch.log(sig).mean(), atol=1e-6)
    for real in (True, False):  # the discriminator terms are eq. 4's
        assert torch.equal(mm(pred, real), va(pred, real))
    with pytest.raises(ValueError, match='generator'):
        mm(pred, False, is_generator=True)
    # CycleGAN's generator terms go through the generator objective
    torch.manual_seed(0)
    model = tiny_cyclegan(gan_loss=dict(type='GANLoss', gan_type='minimax'))
    batch = model.data_preprocessor(fake_batch(n=1), True)
    real_a, real_b = batch['inputs']['img_a'], batch['inputs']['img_b']
    losses, images = model.generator_losses(real_a, real_b)
    with torch.no_grad():
        d = torch.sigmoid(model.disc_b(images['fake_b']))
    assert torch.isclose(losses['loss_gan_a2b'], torch.log(1 - d).mean(),
                         atol=1e-5)
