"""Unpaired dataset, frozen-generator translation (module, transform) and
tools/translate.py."""
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmda.registry import DATASETS, MODELS, TRANSFORMS
from tests.helpers import ROOT


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TINY_GEN = dict(type='ResnetGenerator', base_channels=4, num_blocks=1)


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'mmda_tool_translate', osp.join(ROOT, 'tools', 'translate.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_images(folder, names, hw, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for n in names:
        p = osp.join(folder, n)
        os.makedirs(osp.dirname(p), exist_ok=True)
        cv2.imwrite(p, rng.integers(0, 256, (*hw, 3), dtype=np.uint8))
        paths.append(p)
    return paths


def make_checkpoint(tmp_path, gen_cfg=TINY_GEN, seed=0):
    """A CycleGAN checkpoint whose EMA generators differ from the raw ones."""
    torch.manual_seed(seed)
    model = MODELS.build(
        dict(type='CycleGAN', generator=gen_cfg,
             discriminator=dict(type='PatchDiscriminator', base_channels=4,
                                num_layers=2)))
    model.init_weights()
    with torch.no_grad():
        for p in model.gen_a2b_ema.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = str(tmp_path / 'cyclegan.pth')
    torch.save(dict(meta=dict(iter=1), state_dict=model.state_dict()), path)
    return path, model


def write_config(tmp_path, gen_cfg=TINY_GEN, name='tiny_cyclegan.py'):
    path = tmp_path / name
    path.write_text(
        "_base_ = ['%s']\n"
        "model = dict(generator=%r, discriminator=dict("
        "type='PatchDiscriminator', base_channels=4, num_layers=2),"
        " feature_loss=None)\n" %
        (osp.join(ROOT, 'configs/cyclegan/toy_day2night.py'), gen_cfg))
    return str(path)


# ------------------------------------------------------------------ dataset
def test_unpaired_dataset_folders_lists_and_pairing(tmp_path):
    a = write_images(str(tmp_path / 'day'), ['x/1_img.png', 'x/2_img.png',
                                             'y/3_img.png', 'y/skip.jpg'],
                     (20, 24))
    write_images(str(tmp_path / 'n1'), ['a.png', 'b.png'], (16, 24), 1)
    write_images(str(tmp_path / 'n2'), ['c.jpg', 'd.jpg', 'e.jpg'],
                 (16, 24), 2)
    (tmp_path / 'n2' / 'list.txt').write_text('c\ne\n')
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='RandomCrop', crop_size=(16, 16))]
    ds = DATASETS.build(dict(
        type='UnpairedImageDataset',
        domain_a=dict(name='day', sources=[dict(
            data_root=str(tmp_path), img_dir='day', suffix='_img.png')]),
        domain_b=[dict(data_root=str(tmp_path), img_dir='n1'),
                  dict(data_root=str(tmp_path / 'n2'), img_dir='',
                       ann_file='list.txt', suffix='.jpg')],
        pipeline=pipeline, test_mode=True))
    assert ds.paths_a == sorted(a[:3])
    assert [osp.basename(p) for p in ds.paths_b] == ['a.png', 'b.png',
                                                     'c.jpg', 'e.jpg']
    assert len(ds) == 4 and ds.metainfo['domains'] == ('day', 'B')
    s = ds[3]
    assert s['inputs']['img_a'].shape == (3, 16, 16)
    assert s['inputs']['img_a'].dtype == torch.uint8
    assert s['data_samples'].img_path_a == ds.paths_a[0]  # 3 % 3
    assert s['data_samples'].img_path_b == ds.paths_b[3]
    # random partner in training mode, reproducible with the numpy seed
    ds_train = DATASETS.build(dict(
        type='UnpairedImageDataset',
        domain_a=dict(data_root=str(tmp_path), img_dir='day',
                      suffix='_img.png'),
        domain_b=dict(data_root=str(tmp_path), img_dir='n1'),
        pipeline=pipeline))
    np.random.seed(0)
    first = [ds_train[0]['data_samples'].img_path_b for _ in range(8)]
    np.random.seed(0)
    assert first == [ds_train[0]['data_samples'].img_path_b
                     for _ in range(8)]
    assert len(set(first)) == 2
    # collate + preprocessor: RGB in [-1, 1]
    from mmengine.dataset import pseudo_collate
    batch = pseudo_collate([ds[0], ds[1]])
    pre = MODELS.build(dict(type='UnpairedDataPreprocessor'))
    out = pre(batch)
    x = out['inputs']['img_a']
    assert x.shape == (2, 3, 16, 16)
    raw = batch['inputs']['img_a'][0].float()
    assert torch.allclose(x[0], raw.flip(0) / 127.5 - 1, atol=1e-6), \
        (x[0] - (raw.flip(0) / 127.5 - 1)).abs().max()


def test_unpaired_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        DATASETS.build(dict(type='UnpairedImageDataset',
                            domain_a=dict(img_dir=str(tmp_path / 'nope')),
                            domain_b=dict(img_dir=str(tmp_path))))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='contains no images'):
        DATASETS.build(dict(type='UnpairedImageDataset',
                            domain_a=dict(img_dir=str(tmp_path / 'empty')),
                            domain_b=dict(img_dir=str(tmp_path / 'empty'))))
    write_images(str(tmp_path / 'i'), ['a.png'], (8, 8))
    (tmp_path / 'l.txt').write_text('a\nmissing\n')
    with pytest.raises(FileNotFoundError, match='1 of 2 images'):
        DATASETS.build(dict(type='UnpairedImageDataset',
                            domain_a=dict(img_dir=str(tmp_path / 'i')),
                            domain_b=dict(img_dir=str(tmp_path / 'i'),
                                          ann_file=str(tmp_path / 'l.txt'),
                                          suffix='.png')))
    with pytest.raises(KeyError, match='img_dir'):
        DATASETS.build(dict(type='UnpairedImageDataset',
                            domain_a=dict(root='x'),
                            domain_b=dict(img_dir=str(tmp_path / 'i'))))


def test_unpaired_dataset_toy_domains(tmp_path):
    # a tiny toy benchmark (the full one takes a while to generate)
    toy = dict(data_root=str(tmp_path / 'toy'), num_train=2, num_val=3)
    ds = DATASETS.build(dict(
        type='UnpairedImageDataset',
        domain_a=dict(toy='source', split='val', **toy),
        domain_b=dict(toy='night', split='val', **toy),
        pipeline=[dict(type='LoadImageFromFile')], max_samples=3,
        test_mode=True))
    assert len(ds) == 3
    s = ds[0]
    assert s['inputs']['img_a'].shape == (3, 64, 128)
    assert '/source/' in s['data_samples'].img_path_a
    assert '/night/' in s['data_samples'].img_path_b
    # each side holds the pixels of its own file
    import mmcv
    for key, path in (('img_a', s['data_samples'].img_path_a),
                      ('img_b', s['data_samples'].img_path_b)):
        ref = torch.from_numpy(mmcv.imread(path)).permute(2, 0, 1)
        got = s['inputs'][key]
        assert torch.equal(got, ref) or torch.equal(got, ref.flip(0)), key


# -------------------------------------------------- translator / transform
def test_day2night_translator(tmp_path):
    ckpt, model = make_checkpoint(tmp_path)
    tr = MODELS.build(dict(type='Day2NightTranslator', generator=TINY_GEN,
                           checkpoint=ckpt))
    assert all(not p.requires_grad for p in tr.parameters())
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    rgb = torch.rand(2, 3, 24, 40) * 255
    imgs = (rgb - mean) / std
    tr.train()
    assert not tr.generator.training
    out = tr(imgs)
    with torch.no_grad():
        ref = model.gen_a2b_ema(rgb / 127.5 - 1)
    assert torch.allclose(out * std + mean, (ref + 1) * 127.5, atol=1e-3)
    assert not out.requires_grad
    # not the raw generator
    with torch.no_grad():
        raw = model.gen_a2b(rgb / 127.5 - 1)
    assert not torch.allclose(ref, raw, atol=1e-3)
    # a parent's init_weights does not overwrite the loaded generator
    from mmengine.model import BaseModule

    class Parent(BaseModule):

        def __init__(self):
            super().__init__()
            self.translator = MODELS.build(dict(
                type='Day2NightTranslator', generator=TINY_GEN,
                checkpoint=ckpt))
            self.head = torch.nn.Conv2d(3, 3, 1)

    parent = Parent()
    parent.init_weights()
    assert torch.allclose(parent.translator(imgs), out)
    # raw generator, b2a direction
    tr_raw = MODELS.build(dict(type='Day2NightTranslator', generator=TINY_GEN,
                               checkpoint=ckpt, ema=False))
    assert torch.allclose(tr_raw(imgs) * std + mean, (raw + 1) * 127.5,
                          atol=1e-3)


def test_day2night_translator_errors(tmp_path):
    ckpt, _ = make_checkpoint(tmp_path)
    with pytest.raises(ValueError, match='shape mismatch'):
        MODELS.build(dict(type='Day2NightTranslator',
                          generator=dict(TINY_GEN, base_channels=8),
                          checkpoint=ckpt))
    with pytest.raises(KeyError, match='missing keys'):
        MODELS.build(dict(type='Day2NightTranslator',
                          generator=dict(TINY_GEN, num_blocks=2),
                          checkpoint=ckpt))
    other = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict={'backbone.conv.weight': torch.zeros(1)}),
               other)
    with pytest.raises(KeyError, match='gen_a2b_ema'):
        MODELS.build(dict(type='Day2NightTranslator', generator=TINY_GEN,
                          checkpoint=other))
    with pytest.raises(FileNotFoundError):
        MODELS.build(dict(type='Day2NightTranslator', generator=TINY_GEN,
                          checkpoint=str(tmp_path / 'none.pth')))


def test_day2night_transform(tmp_path):
    ckpt, model = make_checkpoint(tmp_path)
    t = TRANSFORMS.build(dict(type='Day2Night', generator=TINY_GEN,
                              checkpoint=ckpt))
    img = np.random.default_rng(0).integers(0, 256, (20, 28, 3),
                                            dtype=np.uint8)
    res = t(dict(img=img.copy(), img_path='x.png'))
    assert res['day2night'] and res['img'].shape == img.shape
    assert res['img'].dtype == np.uint8
    x = torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = model.gen_a2b_ema(x.float() / 127.5 - 1)
    ref = ((y[0] + 1) * 127.5).round().permute(1, 2, 0).numpy()[..., ::-1]
    assert np.abs(res['img'].astype(float) - ref).max() <= 1
    t0 = TRANSFORMS.build(dict(type='Day2Night', generator=TINY_GEN,
                               checkpoint=ckpt, prob=0.0))
    res0 = t0(dict(img=img.copy()))
    assert not res0['day2night'] and np.array_equal(res0['img'], img)
    import pickle
    assert pickle.loads(pickle.dumps(t))._net is None


# -------------------------------------------------------------- tiled
def test_tiled_forward_matches_full_image():
    from mmda.models.translators import tiled_forward
    torch.manual_seed(0)
    # local, norm-free generator: tiles see enough context in the overlap
    gen = MODELS.build(dict(type='ResnetGenerator', base_channels=4,
                            num_blocks=0, num_down=1, norm_cfg=None))
    gen.init_weights()
    x = torch.rand(2, 3, 40, 72) * 2 - 1
    with torch.no_grad():
        full = gen(x)
    tiled = tiled_forward(gen, x, tile_size=32, overlap=24, batch_size=3)
    assert tiled.shape == full.shape
    err = (tiled - full).abs()
    assert err.mean() < 2e-3 and err.max() < 5e-2
    # a tile covering the image: plain forward
    assert torch.equal(tiled_forward(gen, x, tile_size=128), full)
    with pytest.raises(ValueError, match='overlap'):
        tiled_forward(gen, x, tile_size=32, overlap=32)


# ------------------------------------------------------------------ tool
def test_translate_tool_resumable_and_tiled(tmp_path):
    tool = load_tool()
    ckpt, model = make_checkpoint(tmp_path)
    cfg = write_config(tmp_path)
    src, out = str(tmp_path / 'src'), str(tmp_path / 'out')
    write_images(src, ['c1/a_leftImg8bit.png', 'c1/b_leftImg8bit.png',
                       'c2/c_leftImg8bit.png'], (24, 40))
    write_images(src, ['c2/big.jpg'], (36, 52), 3)
    stats = tool.main([cfg, ckpt, '--src', src, '--out', out,
                       '--batch-size', '2', '--device', 'cpu'])
    assert stats == dict(total=4, written=4, skipped=0, failed=0)
    for rel in ('c1/a_leftImg8bit.png', 'c1/b_leftImg8bit.png',
                'c2/c_leftImg8bit.png', 'c2/big.jpg'):
        assert osp.isfile(osp.join(out, rel))
    assert not [f for _, _, fs in os.walk(out) for f in fs
                if f.startswith('.')]
    # output = EMA generator applied to the image
    img = cv2.imread(osp.join(src, 'c1/a_leftImg8bit.png'))
    x = torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        y = model.gen_a2b_ema(x.float() / 127.5 - 1)
    ref = ((y[0] + 1) * 127.5).round().permute(1, 2, 0).numpy()[..., ::-1]
    got = cv2.imread(osp.join(out, 'c1/a_leftImg8bit.png')).astype(float)
    assert np.abs(got - ref).max() <= 1
    # resumable: nothing is rewritten
    mtime = os.stat(osp.join(out, 'c2/big.jpg')).st_mtime_ns
    stats = tool.main([cfg, ckpt, '--src', src, '--out', out])
    assert stats == dict(total=4, written=0, skipped=4, failed=0)
    assert os.stat(osp.join(out, 'c2/big.jpg')).st_mtime_ns == mtime
    # partial output: only the missing image is translated
    os.remove(osp.join(out, 'c1/b_leftImg8bit.png'))
    stats = tool.main([cfg, ckpt, '--src', src, '--out', out])
    assert stats['written'] == 1 and stats['skipped'] == 3
    # tiled + scaled: same layout and sizes
    out2 = str(tmp_path / 'out_tiled')
    stats = tool.main([cfg, ckpt, '--src', src, '--out', out2, '--tile',
                       '16', '--overlap', '8', '--scale', '0.5'])
    assert stats['written'] == 4
    assert cv2.imread(osp.join(out2, 'c2/big.jpg')).shape == (36, 52, 3)


def test_translate_tool_errors(tmp_path):
    tool = load_tool()
    ckpt, _ = make_checkpoint(tmp_path)
    cfg = write_config(tmp_path)
    src = str(tmp_path / 'src')
    write_images(src, ['a.png'], (8, 8))
    with pytest.raises(SystemExit, match='is not a directory'):
        tool.main([cfg, ckpt, '--src', str(tmp_path / 'nope'), '--out',
                   str(tmp_path / 'o')])
    with pytest.raises(SystemExit, match='does not exist'):
        tool.main([cfg, str(tmp_path / 'no.pth'), '--src', src, '--out',
                   str(tmp_path / 'o')])
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict={'decode_head.conv.weight': torch.zeros(1)}),
               bad)
    with pytest.raises(SystemExit, match='gen_a2b_ema'):
        tool.main([cfg, bad, '--src', src, '--out', str(tmp_path / 'o')])
    cfg_big = write_config(tmp_path, dict(TINY_GEN, base_channels=8),
                           'big_cyclegan.py')
    with pytest.raises(SystemExit, match='shape mismatch'):
        tool.main([cfg_big, ckpt, '--src', src, '--out',
                   str(tmp_path / 'o')])


def test_day2night_cityscapes_dataset_config(tmp_path):
    """The "Day2Night (CS)" dataset piece pairs translated images with the
    original gtFine labels (the layout tools/translate.py writes)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/cyclegan/cityscapes_day2night_dataset.py'))
    name = 'aachen/aachen_000000_000019'
    write_images(str(tmp_path / 'cityscapes_day2night/leftImg8bit/train'),
                 [f'{name}_leftImg8bit.png'], (16, 32))
    lbl = tmp_path / f'cityscapes/gtFine/train/{name}_gtFine_labelTrainIds.png'
    lbl.parent.mkdir(parents=True)
    cv2.imwrite(str(lbl), np.zeros((16, 32), np.uint8))
    ds_cfg = dict(cfg.day2night_cs_train_dataset, data_root=str(tmp_path))
    ds_cfg['pipeline'] = [dict(type='LoadImageFromFile'),
                          dict(type='LoadAnnotations')]
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 1
    info = ds.get_data_info(0)
    assert 'cityscapes_day2night/leftImg8bit' in info['img_path']
    assert info['seg_map_path'] == str(lbl)
    assert ds[0]['gt_seg_map'].shape == (16, 32)
