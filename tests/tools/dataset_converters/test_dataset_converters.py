"""Tests of tools/dataset_converters/{gta,synthia,bdd100k_night}.py on tiny
fabricated copies of the real directory layouts (exact file formats)."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.helpers import ROOT


# Independent copies of docs/methods.md#dataset-formats (do not import them from
# the implementation).
GTA_TABLE = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8,
             22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16,
             32: 17, 33: 18}
# docs/methods.md's 16 entries + terrain/truck/train (16, 18, 20) as in DAFormer.
SYNTHIA_TABLE = {3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8,
                 1: 10, 10: 11, 17: 12, 8: 13, 19: 15, 12: 17, 11: 18,
                 16: 9, 18: 14, 20: 16}


def load_tool(name):
    path = osp.join(ROOT, 'tools', 'dataset_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'mmda_dsconv_{name}', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def expected_map(ids, table):
    out = np.full(ids.shape, 255, np.uint8)
    for k, v in table.items():
        out[ids == k] = v
    return out


def write_palette_png(path, ids):
    """An 8-bit palette PNG whose pixel indices are ``ids`` (GTA5 format)."""
    h, w = ids.shape
    img = Image.frombytes('P', (w, h), ids.astype(np.uint8).tobytes())
    pal = np.random.RandomState(0).randint(0, 256, (256, 3)).astype(np.uint8)
    img.putpalette(pal.ravel().tolist())
    img.save(path)


def write_rgb(path, h, w, seed=0):
    rgb = np.random.RandomState(seed).randint(0, 256, (h, w, 3), np.uint8)
    Image.fromarray(rgb).save(path)


# GTA5 sample 00001: every label id 0-33 (6x8 = 48 pixels, ids 0-13 twice).
GTA_IDS_1 = (np.arange(48) % 34).reshape(6, 8)
# GTA5 sample 00002: hand-computable.
GTA_IDS_2 = np.array([[7, 7, 26, 26, 26, 1, 1, 1]] * 6)


def make_gta(root, extra=None):
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'labels'))
    samples = {'00001': GTA_IDS_1, '00002': GTA_IDS_2}
    samples.update(extra or {})
    for i, (name, ids) in enumerate(sorted(samples.items())):
        write_rgb(osp.join(root, 'images', name + '.png'), 6, 8, seed=i)
        write_palette_png(osp.join(root, 'labels', name + '.png'), ids)
    return root


def read_json(path):
    with open(path) as f:
        return json.load(f)


# --------------------------------------------------------------------------
# GTA5
# --------------------------------------------------------------------------
def test_palette_png_fixture_is_gta_format(tmp_path):
    path = str(tmp_path / 'l.png')
    write_palette_png(path, GTA_IDS_1)
    img = Image.open(path)
    assert img.mode == 'P'
    np.testing.assert_array_equal(np.array(img), GTA_IDS_1)


def test_gta_converter_maps_and_saves_stats(tmp_path):
    root = make_gta(str(tmp_path / 'gta'))
    load_tool('gta').main([root])

    out1 = np.array(Image.open(osp.join(root, 'labels',
                                        '00001_labelTrainIds.png')))
    assert out1.dtype == np.uint8 and out1.shape == (6, 8)
    np.testing.assert_array_equal(out1, expected_map(GTA_IDS_1, GTA_TABLE))
    # spot checks of the table itself
    assert out1[0, 7] == 0 and out1[3, 2] == 13 and out1[4, 1] == 18
    assert out1[0, 0] == 255 and out1[4, 2] == 255  # ids 0 and 34%34=0
    out2 = np.array(Image.open(osp.join(root, 'labels',
                                        '00002_labelTrainIds.png')))
    np.testing.assert_array_equal(
        out2, np.array([[0, 0, 13, 13, 13, 255, 255, 255]] * 6))

    # statistics in DAFormer's format, paths relative to the root
    f1, f2 = 'labels/00001_labelTrainIds.png', 'labels/00002_labelTrainIds.png'
    stats = read_json(osp.join(root, 'sample_class_stats.json'))
    exp1 = {}
    for i in GTA_IDS_1.ravel().tolist():
        if i in GTA_TABLE:
            exp1[str(GTA_TABLE[i])] = exp1.get(str(GTA_TABLE[i]), 0) + 1
    # ids 7, 8, 11, 12, 13 occur twice in sample 1, the others once
    assert exp1['0'] == 2 and exp1['4'] == 2 and exp1['5'] == 1
    assert stats == [dict(file=f1, **exp1), {'file': f2, '0': 12, '13': 18}]
    stats_dict = read_json(osp.join(root, 'sample_class_stats_dict.json'))
    assert stats_dict == {f1: exp1, f2: {'0': 12, '13': 18}}
    with_class = read_json(osp.join(root, 'samples_with_class.json'))
    assert with_class['0'] == [[f1, 2], [f2, 12]]
    assert with_class['13'] == [[f1, 1], [f2, 18]]
    assert with_class['18'] == [[f1, 1]]
    assert sorted(with_class, key=int) == list(with_class)
    assert set(with_class) == {str(c) for c in range(19)}
    with open(osp.join(root, 'train.txt')) as f:
        assert f.read().split() == ['00001', '00002']


def test_gta_converter_rerun_and_multiprocessing(tmp_path):
    root = make_gta(str(tmp_path / 'gta'))
    out_dir = str(tmp_path / 'stats')
    load_tool('gta').main([root, '-o', out_dir])
    first = read_json(osp.join(out_dir, 'sample_class_stats.json'))
    # a second run (now with *_labelTrainIds.png present) in 2 processes
    load_tool('gta').main([root, '-o', out_dir, '--nproc', '2'])
    assert read_json(osp.join(out_dir, 'sample_class_stats.json')) == first
    assert len(first) == 2
    assert not osp.exists(osp.join(root, 'sample_class_stats.json'))


def test_gta_converter_undefined_ids(tmp_path):
    bad = GTA_IDS_2.copy()
    bad[0, 0], bad[1, 1] = 34, 200
    root = make_gta(str(tmp_path / 'gta'), extra={'00003': bad})
    from mmda.datasets.gta import convert_gta5
    with pytest.raises(ValueError,
                       match=r'00003\.png: label ids \[34, 200\] are not '
                       r'defined by GTA5 \(expected ids in \[0, 33\]\)'):
        convert_gta5(root)
    # the same error through worker processes
    with pytest.raises(ValueError, match=r'00003\.png: label ids \[34, 200\]'):
        convert_gta5(root, nproc=2)


def test_gta_converter_rejects_colour_labels(tmp_path):
    root = make_gta(str(tmp_path / 'gta'))
    write_rgb(osp.join(root, 'labels', '00002.png'), 6, 8)
    from mmda.datasets.gta import convert_gta5
    with pytest.raises(ValueError, match=r'00002\.png: expected an 8-bit '
                       r'palette .* got mode RGB'):
        convert_gta5(root)


def test_gta_converter_missing_folders(tmp_path):
    from mmda.datasets.gta import convert_gta5
    missing = str(tmp_path / 'nope')
    with pytest.raises(FileNotFoundError,
                       match=r"GTA5 root: directory '.*nope' does not exist\. "
                       r'Expected layout:\ndata/gta/'):
        convert_gta5(missing)
    root = tmp_path / 'gta'
    (root / 'images').mkdir(parents=True)
    with pytest.raises(FileNotFoundError,
                       match=r"(?s)GTA5 labels: directory '.*labels' does "
                       r'not exist.*labels/00001\.png'):
        convert_gta5(str(root))
    (root / 'labels').mkdir()
    with pytest.raises(FileNotFoundError, match='no \\*.png label files'):
        convert_gta5(str(root))
    write_palette_png(str(root / 'labels' / '00007.png'), GTA_IDS_2)
    with pytest.raises(FileNotFoundError,
                       match=r'00007\.png: the matching image .*00007\.png'):
        convert_gta5(str(root))


def _make_mismatched(tmp_path):
    root = make_gta(str(tmp_path / 'gta'))
    # sample 00003: image 6x8 (h x w), label 3x4 -> nearest 2x upsampling
    small = np.array([[7, 26, 1, 11], [8, 8, 7, 7], [33, 0, 26, 26]])
    write_rgb(osp.join(root, 'images', '00003.png'), 6, 8, seed=5)
    write_palette_png(osp.join(root, 'labels', '00003.png'), small)
    return root, small


def test_gta_converter_size_mismatch_resize(tmp_path):
    root, small = _make_mismatched(tmp_path)
    from mmda.datasets.gta import convert_gta5
    with pytest.warns(UserWarning, match=r'00003\.png: label size 4x3 differs '
                      r'from image size 8x6; label resized \(nearest\)'):
        convert_gta5(root)
    out = np.array(Image.open(osp.join(root, 'labels',
                                       '00003_labelTrainIds.png')))
    up = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
    np.testing.assert_array_equal(out, expected_map(up, GTA_TABLE))
    stats = read_json(osp.join(root, 'sample_class_stats_dict.json'))
    # counts of the resized map: 4 pixels per source pixel
    assert stats['labels/00003_labelTrainIds.png'] == {
        '0': 12, '1': 8, '2': 4, '13': 12, '18': 4}
    with open(osp.join(root, 'train.txt')) as f:
        assert f.read().split() == ['00001', '00002', '00003']


def test_gta_converter_size_mismatch_skip(tmp_path):
    root, _ = _make_mismatched(tmp_path)
    with pytest.warns(UserWarning, match=r'00003\.png: label size 4x3 differs '
                      r'from image size 8x6; skipped'):
        load_tool('gta').main([root, '--size-mismatch', 'skip'])
    assert not osp.exists(osp.join(root, 'labels', '00003_labelTrainIds.png'))
    stats = read_json(osp.join(root, 'sample_class_stats_dict.json'))
    assert sorted(stats) == ['labels/00001_labelTrainIds.png',
                             'labels/00002_labelTrainIds.png']
    with open(osp.join(root, 'train.txt')) as f:
        assert f.read().split() == ['00001', '00002']


def test_label_id_mapper_validation():
    from mmda.datasets.label_conversion import LabelIdMapper
    with pytest.raises(ValueError, match='invalid id -> train id entries'):
        LabelIdMapper({40: 1}, 34, 'X')
    m = LabelIdMapper({2: 1, 3: 0}, 5, 'X')
    out, stats = m(np.array([[2, 3, 4, 0]], np.int32), 'f.png')
    np.testing.assert_array_equal(out, [[1, 0, 255, 255]])
    assert stats == {0: 1, 1: 1}
    with pytest.raises(ValueError, match=r'f\.png: label ids \[-1\]'):
        m(np.array([[2, -1]], np.int32), 'f.png')
    with pytest.raises(ValueError, match=r'f\.png: expected a 2-D integer'):
        m(np.zeros((2, 2, 3), np.uint8), 'f.png')


# --------------------------------------------------------------------------
# SYNTHIA
# --------------------------------------------------------------------------
SYN_IDS_1 = np.arange(24).reshape(4, 6) % 23  # every class id 0-22
SYN_IDS_2 = np.array([[3, 3, 3, 8], [8, 8, 0, 13]])


def write_synthia_label(path, ids, instance_seed=0):
    """16-bit 3-channel PNG: class id in red (BGR channel 2), instance id in
    green, blue zero, as SYNTHIA RAND_CITYSCAPES ships."""
    h, w = ids.shape
    arr = np.zeros((h, w, 3), np.uint16)
    arr[..., 2] = ids
    arr[..., 1] = np.random.RandomState(instance_seed).randint(
        1, 60000, (h, w))
    assert cv2.imwrite(path, arr)


def make_synthia(root, extra=None):
    os.makedirs(osp.join(root, 'RGB'))
    os.makedirs(osp.join(root, 'GT', 'LABELS'))
    samples = {'0000000': SYN_IDS_1, '0000001': SYN_IDS_2}
    samples.update(extra or {})
    for i, (name, ids) in enumerate(sorted(samples.items())):
        write_rgb(osp.join(root, 'RGB', name + '.png'), *ids.shape, seed=i)
        write_synthia_label(
            osp.join(root, 'GT', 'LABELS', name + '.png'), ids, i)
    return root


def test_synthia_label_fixture_format(tmp_path):
    path = str(tmp_path / 'l.png')
    write_synthia_label(path, SYN_IDS_1)
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == (4, 6, 3)
    np.testing.assert_array_equal(raw[..., 2], SYN_IDS_1)


def test_synthia_converter_maps_and_saves_stats(tmp_path):
    root = make_synthia(str(tmp_path / 'synthia'))
    load_tool('synthia').main([root, '--nproc', '2'])
    lab = osp.join(root, 'GT', 'LABELS')
    out1 = np.array(Image.open(osp.join(lab, '0000000_labelTrainIds.png')))
    np.testing.assert_array_equal(out1,
                                  expected_map(SYN_IDS_1, SYNTHIA_TABLE))
    # spot checks: road 3 -> 0, wall 21 -> 3, bicycle 11 -> 18, void /
    # parking-slot / road-work / lanemarking -> 255
    assert out1[0, 3] == 0 and out1[3, 3] == 3 and out1[1, 5] == 18
    assert (out1[[0, 2, 2, 3], [0, 1, 2, 4]] == 255).all()
    out2 = np.array(Image.open(osp.join(lab, '0000001_labelTrainIds.png')))
    np.testing.assert_array_equal(out2, [[0, 0, 0, 13], [13, 13, 255, 255]])
    stats = read_json(osp.join(root, 'sample_class_stats_dict.json'))
    f1 = 'GT/LABELS/0000000_labelTrainIds.png'
    f2 = 'GT/LABELS/0000001_labelTrainIds.png'
    assert stats[f2] == {'0': 3, '13': 3}
    # 24 pixels, 23 ids: only id 0 (void) occurs twice; sky (1) -> 10
    assert stats[f1]['10'] == 1 and stats[f1]['0'] == 1
    assert sum(stats[f1].values()) == 24 - 2 - 3  # void x2, 13, 14, 22
    with_class = read_json(osp.join(root, 'samples_with_class.json'))
    assert with_class['13'] == [[f1, 1], [f2, 3]]
    with open(osp.join(root, 'train.txt')) as f:
        assert f.read().split() == ['0000000', '0000001']


def test_synthia_converter_errors(tmp_path):
    from mmda.datasets.synthia import convert_synthia
    bad = SYN_IDS_2.copy()
    bad[0, 1] = 23
    bad[1, 0] = 1000
    root = make_synthia(str(tmp_path / 's1'), extra={'0000002': bad})
    with pytest.raises(ValueError,
                       match=r'0000002\.png: label ids \[23, 1000\] are not '
                       r'defined by SYNTHIA \(expected ids in \[0, 22\]\)'):
        convert_synthia(root)
    root = make_synthia(str(tmp_path / 's2'))
    # an 8-bit label instead of the 16-bit 3-channel format
    cv2.imwrite(osp.join(root, 'GT', 'LABELS', '0000001.png'),
                SYN_IDS_2.astype(np.uint8))
    with pytest.raises(ValueError, match=r'0000001\.png: expected a 16-bit '
                       r'3-channel PNG .* got dtype uint8'):
        convert_synthia(root)
    os.makedirs(str(tmp_path / 's3' / 'RGB'))
    with pytest.raises(FileNotFoundError,
                       match=r"SYNTHIA labels: directory '.*GT/LABELS' does "
                       r'not exist\. Expected layout:\ndata/synthia/'):
        convert_synthia(str(tmp_path / 's3'))


# --------------------------------------------------------------------------
# BDD100K night
# --------------------------------------------------------------------------
def make_bdd(root):
    recs = {
        'train': [('a1.jpg', 'night'), ('b2.jpg', 'daytime'),
                  ('c3.jpg', 'night'), ('d4.jpg', 'dawn/dusk'),
                  ('e5.jpg', 'undefined'), ('f6.jpg', 'night')],
        'val': [('v1.jpg', 'daytime'), ('v2.jpg', 'night')],
    }
    os.makedirs(osp.join(root, 'labels'))
    for split, items in recs.items():
        os.makedirs(osp.join(root, 'images', '100k', split))
        data = [dict(name=n, attributes=dict(weather='clear', scene='city',
                                             timeofday=t), labels=[])
                for n, t in items]
        with open(osp.join(root, 'labels',
                           f'bdd100k_labels_images_{split}.json'), 'w') as f:
            json.dump(data, f)
        for n, _ in items:
            if n != 'f6.jpg':  # one night image is missing on disk
                rgb = np.full((9, 16, 3), 40, np.uint8)
                Image.fromarray(rgb).save(
                    osp.join(root, 'images', '100k', split, n))
    return root


def test_bdd100k_night_converter(tmp_path):
    root = make_bdd(str(tmp_path / 'bdd100k'))
    with pytest.warns(UserWarning, match=r'1 night images listed in .*'
                      r'bdd100k_labels_images_train\.json are not in .*'
                      r'f6\.jpg'):
        load_tool('bdd100k_night').main([root])
    with open(osp.join(root, 'night_train.txt')) as f:
        assert f.read() == 'a1\nc3\n'
    with open(osp.join(root, 'night_val.txt')) as f:
        assert f.read() == 'v2\n'
    # without the image check, only the JSON decides; other time of day
    from mmda.datasets.bdd100k import write_bdd100k_timeofday_split
    out = write_bdd100k_timeofday_split(
        root, splits=['train'], check_images=False, out_dir=str(tmp_path))
    assert out == {'train': ['a1', 'c3', 'f6']}
    out = write_bdd100k_timeofday_split(
        root, splits=['train'], timeofday='dawn/dusk', out_dir=str(tmp_path))
    assert out == {'train': ['d4']}
    with open(tmp_path / 'dawn_dusk_train.txt') as f:
        assert f.read() == 'd4\n'


def test_bdd100k_night_converter_errors(tmp_path):
    from mmda.datasets.bdd100k import write_bdd100k_timeofday_split
    root = make_bdd(str(tmp_path / 'bdd100k'))
    with pytest.raises(ValueError, match='timeofday must be one of'):
        write_bdd100k_timeofday_split(root, timeofday='evening')
    with pytest.raises(FileNotFoundError,
                       match=r'BDD100K test image labels: file .*'
                       r'bdd100k_labels_images_test\.json.*does not exist'):
        write_bdd100k_timeofday_split(root, splits=['test'])
    path = osp.join(root, 'labels', 'bdd100k_labels_images_val.json')
    with open(path, 'w') as f:
        json.dump([{'name': 'x.jpg', 'attributes': {}}], f)
    with pytest.raises(ValueError, match=r'bdd100k_labels_images_val\.json: '
                       r'record 0 has no "name" and "attributes\.timeofday"'):
        write_bdd100k_timeofday_split(root, splits=['val'])
    with open(path, 'w') as f:
        json.dump({'name': 'x.jpg'}, f)
    with pytest.raises(ValueError, match='expected a JSON list of image '
                       'records'):
        write_bdd100k_timeofday_split(root, splits=['val'])
    with pytest.raises(FileNotFoundError, match='BDD100K root: directory'):
        write_bdd100k_timeofday_split(str(tmp_path / 'none'))


def test_gta_converter_as_a_script(tmp_path, monkeypatch, capsys):
    """The README command (run as ``__main__``), with worker processes."""
    import runpy
    import sys
    root = make_gta(str(tmp_path / 'gta'))
    script = osp.join(ROOT, 'tools', 'dataset_converters', 'gta.py')
    monkeypatch.setattr(sys, 'argv', [script, root, '--nproc', '2'])
    runpy.run_path(script, run_name='__main__')
    assert 'GTA5: converted 2 labels' in capsys.readouterr().out
    out = np.array(Image.open(osp.join(root, 'labels',
                                       '00002_labelTrainIds.png')))
    np.testing.assert_array_equal(
        out, np.array([[0, 0, 13, 13, 13, 255, 255, 255]] * 6))
    monkeypatch.setattr(sys, 'argv', [script, root, '--size-mismatch', 'x'])
    with pytest.raises(SystemExit):
        runpy.run_path(script, run_name='__main__')
    assert "invalid choice: 'x'" in capsys.readouterr().err
