"""Tests of the embedded toy benchmark (mmda/datasets/toy.py and its configs)."""
import hashlib
import multiprocessing as mp
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmda.datasets import toy, toy_render
from mmda.datasets.toy import (DOMAINS, MARKER_NAME, TOY_CLASSES, ToySegDataset,
                               default_toy_root, generate_sample,
                               generate_toy_benchmark, read_toy_marker)
from tests.helpers import ROOT as REPO

SMALL = dict(num_train=4, num_val=3)


def _tree_digest(root):
    """sha1 of every file below root (relative path -> digest)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha1(f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def small_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy') / 'bench')
    generate_toy_benchmark(root, **SMALL)
    return root


@pytest.fixture(scope='module')
def samples():
    """40 val samples per domain, generated in memory."""
    return {d: [generate_sample(d, 'val', i) for i in range(40)]
            for d in DOMAINS}


def test_generate_sample_is_deterministic_and_seeded():
    img1, lbl1 = generate_sample('night', 'train', 7, seed=0)
    img2, lbl2 = generate_sample('night', 'train', 7, seed=0)
    assert img1.tobytes() == img2.tobytes()
    assert lbl1.tobytes() == lbl2.tobytes()
    img3, lbl3 = generate_sample('night', 'train', 7, seed=1)
    assert not np.array_equal(lbl1, lbl3)
    # every (domain, split, index) is its own scene
    assert not np.array_equal(lbl1, generate_sample('night', 'train', 8)[1])
    assert not np.array_equal(lbl1, generate_sample('night', 'val', 7)[1])
    assert not np.array_equal(lbl1, generate_sample('source', 'train', 7)[1])
    assert not np.array_equal(lbl1, generate_sample('target', 'train', 7)[1])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='domain'):
        generate_sample('dusk', 'train', 0)
    with pytest.raises(ValueError, match='split'):
        generate_sample('source', 'test', 0)


def test_shapes_and_label_values(samples):
    valid = set(TOY_CLASSES)
    counts = np.zeros(256, np.int64)
    for domain in DOMAINS:
        for img, lbl in samples[domain]:
            assert img.shape == (64, 128, 3) and img.dtype == np.uint8
            assert lbl.shape == (64, 128) and lbl.dtype == np.uint8
            assert set(np.unique(lbl).tolist()) <= valid
            # every scene has a road, sky and the ground below the sky
            assert (lbl == toy.ROAD).any() and (lbl == toy.SKY).any()
            counts += np.bincount(lbl.ravel(), minlength=256)
    # all ten classes occur, none of the others (and no 255)
    assert set(np.nonzero(counts)[0].tolist()) == valid


def test_domains_share_the_layout_distribution(samples):
    freqs = {}
    for domain in DOMAINS:
        lbls = np.stack([lbl for _, lbl in samples[domain]])
        freqs[domain] = np.bincount(lbls.ravel(), minlength=256)[
            list(TOY_CLASSES)] / lbls.size
    for domain in ('target', 'night'):
        # same distribution: class pixel fractions agree within 6 points
        assert np.abs(freqs[domain] - freqs['source']).max() < 0.06, (
            domain, freqs[domain], freqs['source'])
    # but different scenes
    assert not any(
        np.array_equal(a[1], b[1])
        for a, b in zip(samples['source'], samples['target']))


def test_domains_differ_in_appearance_as_intended(samples):
    def stack(domain):
        return (np.stack([img for img, _ in samples[domain]]).astype(np.float64),
                np.stack([lbl for _, lbl in samples[domain]]))

    (src, src_l), (tgt, tgt_l), (ngt, ngt_l) = map(stack, DOMAINS)
    # source is flat-shaded: few distinct colours per image; the real domains
    # are textured and noisy: thousands
    n_src = np.mean([len(np.unique(i.reshape(-1, 3), axis=0)) for i in src])
    n_tgt = np.mean([len(np.unique(i.reshape(-1, 3), axis=0)) for i in tgt])
    assert n_src < 80 and n_tgt > 2000, (n_src, n_tgt)
    # texture: neighbouring pixels of the same class differ in target (and
    # night) and are (nearly always) equal in source
    def flatness(img, lbl):
        same = lbl[:, :, 1:] == lbl[:, :, :-1]
        equal = (img[:, :, 1:] == img[:, :, :-1]).all(-1)
        return equal[same].mean()

    f_src, f_tgt, f_ngt = (flatness(src, src_l), flatness(tgt, tgt_l),
                           flatness(ngt, ngt_l))
    assert f_src > 0.85 and f_tgt < 0.1 and f_ngt < 0.1, (f_src, f_tgt, f_ngt)
    # per-class colour shift: class mean colours move by tens of grey levels
    shifts = [np.linalg.norm(src[src_l == c].mean(0) - tgt[tgt_l == c].mean(0))
              for c in (toy.ROAD, toy.SIDEWALK, toy.BUILDING, toy.VEGETATION,
                        toy.SKY, toy.CAR)]
    assert min(shifts) > 25, shifts
    # night (deliberately mild darkness, see toy_render.NIGHT_DARKNESS): darker
    # overall, a dark sky, bluish tint, noise and bright light glows
    assert ngt.mean() < 0.92 * src.mean() and ngt.mean() < 0.92 * tgt.mean()
    assert np.median(ngt) < 0.9 * np.median(src)
    assert ngt[ngt_l == toy.SKY].mean() < 0.7 * src[src_l == toy.SKY].mean()
    assert ngt[..., 2].mean() > ngt[..., 0].mean() + 10  # blue over red
    # glows: near-saturated pixels exist at night although it is darker
    frac_bright = lambda x: (x.max(-1) > 240).mean()  # noqa: E731
    assert frac_bright(ngt) > 0.002


def test_files_layout_and_content(small_root):
    root = small_root
    marker = read_toy_marker(root)
    assert marker['version'] == toy.TOY_VERSION
    assert marker['num_images'] == {'train': 4, 'val': 3}
    for domain in DOMAINS:
        for split, n in (('train', 4), ('val', 3)):
            imgs = sorted(os.listdir(osp.join(root, domain, 'images', split)))
            lbls = sorted(os.listdir(osp.join(root, domain, 'labels', split)))
            assert imgs == lbls == [f'{i:05d}.png' for i in range(n)]
    img, lbl = generate_sample('target', 'val', 2)
    f_img = np.asarray(Image.open(osp.join(root, 'target/images/val/00002.png')))
    f_lbl = Image.open(osp.join(root, 'target/labels/val/00002.png'))
    assert f_lbl.mode == 'L'
    np.testing.assert_array_equal(f_img, img)
    np.testing.assert_array_equal(np.asarray(f_lbl), lbl)
    # no temporary folders or stray files next to the benchmark
    siblings = os.listdir(osp.dirname(root))
    assert [s for s in siblings if '.tmp-' in s] == []


def test_generation_is_byte_identical(small_root, tmp_path):
    other = generate_toy_benchmark(str(tmp_path / 'again'), **SMALL)
    assert _tree_digest(other) == _tree_digest(small_root)


def test_existing_copy_is_not_regenerated(small_root, monkeypatch):
    before = {p: os.stat(osp.join(small_root, p)).st_mtime_ns
              for p in _tree_digest(small_root)}

    def fail(*args, **kwargs):
        raise AssertionError('regenerated an existing complete copy')

    monkeypatch.setattr(toy, '_write_benchmark', fail)
    assert generate_toy_benchmark(small_root, **SMALL) == small_root
    ds = ToySegDataset(domain='night', split='train', data_root=small_root,
                       **SMALL)
    assert len(ds) == 4
    after = {p: os.stat(osp.join(small_root, p)).st_mtime_ns for p in before}
    assert after == before


def test_marker_mismatch_and_foreign_folder_raise(small_root, tmp_path,
                                                 monkeypatch):
    with pytest.raises(ValueError, match=MARKER_NAME):
        generate_toy_benchmark(small_root, num_train=5, num_val=3)
    with pytest.raises(ValueError, match='generated with'):
        generate_toy_benchmark(small_root, seed=3, **SMALL)
    # a copy rendered with other calibration knobs is not silently reused
    with monkeypatch.context() as m:
        m.setattr(toy_render, 'NIGHT_DARKNESS', 0.5)
        with pytest.raises(ValueError, match='night_darkness'):
            generate_toy_benchmark(small_root, **SMALL)
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'something.txt').write_text('x')
    with pytest.raises(FileExistsError, match='no marker'):
        generate_toy_benchmark(str(foreign), **SMALL)
    # an existing empty folder is fine
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert read_toy_marker(generate_toy_benchmark(str(empty), **SMALL))
    with pytest.raises(ValueError, match='num_train'):
        generate_toy_benchmark(str(tmp_path / 'zero'), num_train=0)


def _generate_in_child(root, queue):
    try:
        generate_toy_benchmark(root, **SMALL)
        queue.put('ok')
    except Exception as e:  # pragma: no cover - reported to the parent
        queue.put(repr(e))


def test_concurrent_generation_is_safe(tmp_path, small_root):
    """Two processes (like two DDP ranks) start on the same missing root."""
    root = str(tmp_path / 'shared')
    ctx = mp.get_context('fork')
    queue = ctx.Queue()
    procs = [ctx.Process(target=_generate_in_child, args=(root, queue))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert sorted(queue.get(timeout=5) for _ in procs) == ['ok', 'ok']
    assert _tree_digest(root) == _tree_digest(small_root)
    assert [s for s in os.listdir(tmp_path) if '.tmp-' in s] == []


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv('MMDA_DATA_ROOT', str(tmp_path))
    assert default_toy_root() == osp.join(str(tmp_path), 'toy')
    monkeypatch.delenv('MMDA_DATA_ROOT')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert default_toy_root() == osp.join(str(tmp_path), 'home', '.cache',
                                          'mmda', 'toy_v1')


def test_dataset_loads_through_pipeline(small_root):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]
    ds = ToySegDataset(domain='target', split='val', data_root=small_root,
                       pipeline=pipeline, **SMALL)
    assert len(ds) == 3
    assert ds.metainfo['classes'][toy.CAR] == 'car'
    assert len(ds.metainfo['classes']) == 19
    out = ds[1]
    img, lbl = generate_sample('target', 'val', 1)
    inputs = out['inputs'].numpy()
    assert inputs.shape == (3, 64, 128)
    # mmcv loads BGR: channel 0 of the packed input is blue
    np.testing.assert_array_equal(inputs[::-1].transpose(1, 2, 0), img)
    gt = out['data_samples'].gt_sem_seg.data.numpy()
    np.testing.assert_array_equal(gt[0], lbl)
    with pytest.raises(ValueError, match='domain'):
        ToySegDataset(domain='day', data_root=small_root, **SMALL)
    with pytest.raises(ValueError, match='data_prefix'):
        ToySegDataset(data_root=small_root, data_prefix=dict(img_path='x'),
                      **SMALL)


@pytest.mark.parametrize('domain', DOMAINS)
def test_base_dataset_configs(domain, small_root):
    from mmengine.config import Config

    from mmda.registry import DATASETS
    cfg = Config.fromfile(
        osp.join(REPO, f'configs/_base_/datasets/toy_{domain}.py'))
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.val_evaluator == dict(type='IoUMetric', iou_metrics=['mIoU'])
    assert [t['type'] for t in cfg.train_pipeline][-2:] == [
        'RandomFlip', 'PackSegInputs']
    assert cfg.test_pipeline[-1]['type'] == 'PackSegInputs'
    for loader, split, n in ((cfg.train_dataloader, 'train', 4),
                             (cfg.val_dataloader, 'val', 3),
                             (cfg.test_dataloader, 'val', 3)):
        ds_cfg = dict(loader.dataset, data_root=small_root, **SMALL)
        ds = DATASETS.build(ds_cfg)
        assert (ds.domain, ds.split, len(ds)) == (domain, split, n)
        out = ds[0]
        assert tuple(out['inputs'].shape) == (3, 64, 128)
        assert tuple(out['data_samples'].gt_sem_seg.data.shape) == (1, 64, 128)


def _cfg_or_skip(name):
    from mmengine.config import Config
    if not osp.isfile(osp.join(REPO, 'configs/_base_/models/deeplabv2_tiny.py')):
        pytest.skip('configs/_base_/models/deeplabv2_tiny.py not written yet')
    return Config.fromfile(osp.join(REPO, 'configs/source_only', name))


@pytest.mark.parametrize('name,train,val', [
    ('toy_source_only.py', 'source', 'target'),
    ('toy_oracle.py', 'target', 'target'),
    ('toy_night_source_only.py', 'source', 'night'),
    ('toy_night_oracle.py', 'night', 'night'),
])
def test_source_only_configs(name, train, val):
    cfg = _cfg_or_skip(name)
    assert cfg.train_dataloader.dataset.domain == train
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.domain == val
    assert cfg.test_dataloader.dataset.domain == val
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.train_cfg.max_iters == cfg.param_scheduler[0]['end']
    assert cfg.model.decode_head.num_classes == 19


@pytest.mark.parametrize('name,train_type,val_type,metric', [
    ('gta2city.py', 'GTA5Dataset', 'CityscapesDataset', 'IoUMetric'),
    ('gta2city_oracle.py', 'CityscapesDataset', 'CityscapesDataset',
     'IoUMetric'),
    ('synthia2city.py', 'SynthiaDataset', 'CityscapesDataset', 'IoUMetric'),
    ('synthia2city_oracle.py', 'CityscapesDataset', 'CityscapesDataset',
     'IoUMetric'),
    ('city2darkzurich.py', 'CityscapesDataset', 'DarkZurichDataset',
     'IoUMetric'),
    ('city2nightdriving.py', 'CityscapesDataset', 'NightDrivingDataset',
     'SubsetIoUMetric'),
])
def test_real_source_only_configs(name, train_type, val_type, metric):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs/source_only', name))
    train_ds = cfg.train_dataloader.dataset
    assert train_ds.type == train_type
    if train_type == 'CityscapesDataset':
        assert 'ann_file' not in train_ds  # nothing leaked from GTA5 / SYNTHIA
        assert train_ds.data_prefix.seg_map_path == 'gtFine/train'
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.val_dataloader.dataset.type == val_type
    assert cfg.test_dataloader.dataset.type == val_type
    evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) \
        else [cfg.val_evaluator]
    assert evaluators[0]['type'] == metric
    if name.startswith('synthia'):
        assert [e.get('prefix') for e in evaluators] == [None, '16cls', '13cls']
    assert cfg.model.backbone.depth == 101
    assert cfg.model.decode_head.num_classes == 19
    assert cfg.train_cfg.max_iters == 40000
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.decode_head.lr_mult == 10


def test_benchmark_script_helpers(small_root, tmp_path):
    """tools/benchmarks/toy_source_only.py: config adaptation and table
    (the training itself is run by hand; see the module docstring)."""
    from tests.helpers import load_benchmark
    if not osp.isfile(osp.join(REPO, 'configs/_base_/models/deeplabv2_tiny.py')):
        pytest.skip('configs/_base_/models/deeplabv2_tiny.py not written yet')
    bench = load_benchmark('toy_source_only')
    cfg = bench.build_cfg(bench.TASKS['night'][1], seed=2,
                          work_dir=str(tmp_path), max_iters=7,
                          data_root=small_root)
    assert cfg.randomness == dict(seed=2)
    assert cfg.train_cfg.max_iters == 7 and cfg.train_cfg.val_begin == 8
    assert cfg.param_scheduler[0]['end'] == 7
    assert cfg.train_dataloader.dataset.domain == 'night'
    assert cfg.val_dataloader.dataset.data_root == small_root
    table = bench.make_table({'target': {'source-only': [30.0, 34.0],
                                         'oracle': [60.0, 64.0]}})
    row = table.splitlines()[-1]
    assert '| source → target | 2 | 32.0 ± 2.8 | 62.0 ± 2.8 | 0.52 |' in row
    with pytest.raises(SystemExit):
        bench.parse_args(['--seeds', '0'])


# ---------------------------------------------------------------------------
# Variants: the rendering knobs as dataset arguments
# ---------------------------------------------------------------------------
#: sha1 of (image bytes, label bytes) of the calibrated toy, recorded with the
#: generator before its knobs became arguments: the defaults must stay the
#: calibrated toy bit for bit.
CALIBRATED_DIGESTS = {
    ('source', 'train', 0): ('e79605fb47de1535905373ab787102122361a09e',
                             '0b03f0976418b6240cfcdeea2bc83a9d7984e60b'),
    ('source', 'val', 3): ('18b127f72680659c4b6b1188211735a255340705',
                           '65601f49155d47f4589b9c43ab1d682bd9654565'),
    ('target', 'train', 0): ('9be066334e7fa9b40e844b0bddfa33b9ff6e490b',
                             'a3f9e371c6aaf4846090a9bf654aa695926e2762'),
    ('target', 'val', 3): ('8f6eea39767c29fdba94ebda5b4ea7e827b876cd',
                           '1fee8d8dcb89c6019b0673fafc2cc874080fc188'),
    ('night', 'train', 0): ('fe37866b4ae52d0e46a65f99e2f8d7dba628a18e',
                            'bcc8a4df326e779dbbcf7e6d750de20d405c4653'),
    ('night', 'val', 3): ('75987f3476a254dfe76566fa21316bfb4ac70b85',
                          '2418b2877fa1c351fc26e58f6b8a3e2707b80e98'),
}
CALIBRATED_MARKER_PARAMS = {
    'target_colour_shift': 0.5, 'night_darkness': 0.9,
    'night_noise_std': 5.0, 'night_sky_gain': 0.6,
    'night_tint': [0.85, 0.9, 1.15]}


def _digest(sample):
    img, lbl = sample
    return (hashlib.sha1(img.tobytes()).hexdigest(),
            hashlib.sha1(lbl.tobytes()).hexdigest())


@pytest.mark.parametrize('key', sorted(CALIBRATED_DIGESTS))
def test_default_knobs_are_the_calibrated_toy_bit_for_bit(key):
    defaults = toy.default_render()
    assert _digest(generate_sample(*key)) == CALIBRATED_DIGESTS[key]
    # the same with every default written out explicitly
    assert _digest(generate_sample(*key, seed=0, render=defaults)) == \
        CALIBRATED_DIGESTS[key]


def test_calibrated_marker_is_unchanged(small_root):
    marker = read_toy_marker(small_root)
    assert marker['seed'] == 0
    assert marker['params'] == CALIBRATED_MARKER_PARAMS


def test_knobs_change_only_their_domain():
    src = generate_sample('source', 'val', 3, render=dict(
        shift_strength=0.6, shift_seed=7, night_darkness=0.5))
    assert _digest(src) == CALIBRATED_DIGESTS[('source', 'val', 3)]
    base_t = generate_sample('target', 'val', 3)
    base_n = generate_sample('night', 'val', 3)
    for knobs in (dict(shift_strength=0.6), dict(shift_seed=7)):
        img, lbl = generate_sample('target', 'val', 3, render=knobs)
        np.testing.assert_array_equal(lbl, base_t[1])  # same scene
        assert not np.array_equal(img, base_t[0])
        # the night rendering has no class shift
        assert _digest(generate_sample('night', 'val', 3, render=knobs)) == \
            _digest(base_n)
    for knobs in (dict(night_darkness=0.8), dict(night_noise_std=8.0),
                  dict(night_sky_gain=0.4), dict(night_tint=(1, 1, 1))):
        img, lbl = generate_sample('night', 'val', 3, render=knobs)
        np.testing.assert_array_equal(lbl, base_n[1])
        assert not np.array_equal(img, base_n[0]), knobs
        assert _digest(generate_sample('target', 'val', 3, render=knobs)) \
            == _digest(base_t)
    # strength scales the per-class shift: 0 leaves only the texture
    d = [np.abs(generate_sample('target', 'val', 3, render=dict(
        shift_strength=s))[0].astype(float) -
        generate_sample('target', 'val', 3, render=dict(
            shift_strength=0.0))[0].astype(float)).mean()
        for s in (0.3, 0.6)]
    assert 0 < d[0] < d[1]
    # darker night is darker
    dark = generate_sample('night', 'val', 3,
                           render=dict(night_darkness=0.6))[0]
    assert dark.mean() < base_n[0].mean() - 5


def test_bad_knobs_raise_naming_the_knob(small_root):
    with pytest.raises(ValueError, match="unknown knob 'shift'"):
        toy.render_params(dict(shift=0.5))
    with pytest.raises(ValueError, match='shift_strength must be'):
        toy.render_params(shift_strength=-0.1)
    with pytest.raises(ValueError, match='night_tint must be three'):
        toy.render_params(night_tint=(1, 1))
    with pytest.raises(ValueError, match='night_darkness must be a positive'):
        toy.render_params(night_darkness=0)
    with pytest.raises(ValueError, match='shift_seed must be an integer'):
        toy.render_params(shift_seed=1.5)
    with pytest.raises(ValueError, match='ToySegDataset: .*night_noise_std'):
        ToySegDataset(domain='night', data_root=small_root,
                      night_noise_std='loud', **SMALL)


def test_variant_dataset_records_its_knobs_and_gets_its_own_folder(
        tmp_path, monkeypatch, small_root):
    monkeypatch.setenv('MMDA_DATA_ROOT', str(tmp_path))
    knobs = dict(shift_seed=5, shift_strength=0.6, night_darkness=0.85,
                 night_tint=(0.9, 0.9, 1.1))
    root = default_toy_root(seed=1, render=knobs)
    assert root != default_toy_root() and \
        osp.dirname(root) == str(tmp_path) and \
        osp.basename(root).startswith('toy-')
    assert default_toy_root(seed=0, render={}) == osp.join(str(tmp_path),
                                                           'toy')
    ds = ToySegDataset(domain='target', split='val', seed=1, **SMALL,
                       **knobs)
    assert ds.data_root == root
    marker = read_toy_marker(root)
    assert marker['seed'] == 1
    assert marker['params'] == dict(
        target_colour_shift=0.6, target_shift_seed=5, night_darkness=0.85,
        night_noise_std=5.0, night_sky_gain=0.6, night_tint=[0.9, 0.9, 1.1])
    img = np.asarray(Image.open(osp.join(root, 'target/images/val/00001.png')))
    np.testing.assert_array_equal(
        img, generate_sample('target', 'val', 1, seed=1,
                             render=knobs)[0])
    # a variant is not silently read from a copy with other knobs
    with pytest.raises(ValueError, match='target_shift_seed'):
        ToySegDataset(domain='target', split='val', data_root=root, seed=1,
                      **SMALL, **dict(knobs, shift_seed=6))
    with pytest.raises(ValueError, match='target_colour_shift'):
        ToySegDataset(domain='target', data_root=small_root,
                      shift_strength=0.4, **SMALL)
