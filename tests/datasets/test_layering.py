"""The data layer sits below the models: nothing under mmda/datasets imports
``mmda.models`` (the batched mixers and the frozen generator that two
transforms use are reached through the ``MODELS`` registry), and reaching
them that way changed no pixel."""
import ast
import glob
import os
import os.path as osp

import numpy as np
import torch

from mmda.registry import MODELS, TRANSFORMS
from tests.helpers import ROOT

TINY_GEN = dict(type='ResnetGenerator', base_channels=4, num_blocks=1)


def _imported_modules(source: str, package: str):
    """Every module an ``import`` in ``source`` (a module of ``package``)
    names, at any depth: relative imports resolved, and ``from a import b``
    also yields ``a.b``."""
    parts = package.split('.')
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            yield module
            yield from (f'{module}.{a.name}' for a in node.names)


def test_datasets_do_not_import_models():
    offenders = {}
    for path in glob.glob(osp.join(ROOT, 'mmda', 'datasets', '**', '*.py'),
                          recursive=True):
        package = osp.relpath(osp.dirname(path), ROOT).replace(os.sep, '.')
        with open(path, encoding='utf-8') as f:
            found = set(_imported_modules(f.read(), package))
        bad = sorted(m for m in found
                     if m == 'mmda.models' or m.startswith('mmda.models.'))
        if bad:
            offenders[osp.relpath(path, ROOT)] = bad
    assert not offenders


def test_import_resolution_finds_relative_and_lazy_imports():
    # the checker itself: imports inside a function, relative two levels up
    src = ('def f():\n    from ...models.uda import mixing\n'
           '    import mmda.models\n    from .. import models\n')
    found = set(_imported_modules(src, 'mmda.datasets.transforms'))
    assert {'mmda.models.uda', 'mmda.models.uda.mixing', 'mmda.models',
            'mmda.datasets.models'} <= found


def _checkpoint(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='CycleGAN', generator=TINY_GEN,
        discriminator=dict(type='PatchDiscriminator', base_channels=4,
                           num_layers=2)))
    model.init_weights()
    path = str(tmp_path / 'cyclegan.pth')
    torch.save(dict(meta=dict(iter=1), state_dict=model.state_dict()), path)
    return path


def test_day2night_transform_equals_the_frozen_generator(tmp_path):
    """The transform's output is exactly the frozen EMA generator's on
    [-1, 1] input, rounded back to uint8 (whole image and tiled)."""
    from mmda.models.translators.inference import (build_frozen_generator,
                                                    tiled_forward)
    ckpt = _checkpoint(tmp_path)
    net = build_frozen_generator(TINY_GEN, ckpt, 'a2b', True)
    img = np.random.default_rng(0).integers(0, 256, (40, 72, 3),
                                            dtype=np.uint8)
    x = torch.from_numpy(np.ascontiguousarray(img[..., ::-1]))
    x = x.permute(2, 0, 1)[None].float() / 127.5 - 1
    for tile in (None, 32):
        t = TRANSFORMS.build(dict(type='Day2Night', generator=TINY_GEN,
                                  checkpoint=ckpt, tile_size=tile,
                                  tile_overlap=8))
        out = t(dict(img=img.copy()))['img']
        with torch.no_grad():
            y = tiled_forward(net, x, tile, 8)
        ref = ((y[0].clamp(-1, 1) + 1) * 127.5).round().byte()
        ref = ref.permute(1, 2, 0).numpy()[..., ::-1]
        assert np.array_equal(out, ref), tile
