"""mmda registries are children of mmseg's: with default_scope='mmda' a config
finds mmda's modules and, through the parents, mmseg's and mmengine's."""
import pytest
from mmengine.registry import DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmseg.registry import MODELS as MMSEG_MODELS

from mmda.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS, VISUALIZERS


def test_registries_are_children_of_mmseg():
    assert MODELS.parent is MMSEG_MODELS
    assert MMSEG_MODELS.parent is MMENGINE_MODELS
    assert MODELS.scope == 'mmda'
    assert 'mmda' in MMSEG_MODELS.children


@pytest.mark.parametrize('registry,name', [
    (MODELS, 'EncoderDecoder'),       # mmseg
    (MODELS, 'CrossEntropyLoss'),     # mmseg
    (MODELS, 'DLV2Head'),             # mmda
    (DATASETS, 'CityscapesDataset'),  # mmseg
    (DATASETS, 'ToySegDataset'),      # mmda
    (DATASETS, 'GTA5Dataset'),        # mmda
    (TRANSFORMS, 'PackSegInputs'),    # mmseg
    (TRANSFORMS, 'LoadImageFromFile'),  # mmcv
    (HOOKS, 'CheckpointHook'),        # mmengine
    (HOOKS, 'SegVisualizationHook'),  # mmseg
    (METRICS, 'IoUMetric'),           # mmseg
    (VISUALIZERS, 'SegLocalVisualizer'),  # mmseg
])
def test_mmda_scope_finds_all_levels(registry, name):
    with DefaultScope.overwrite_default_scope('mmda'):
        assert registry.get(name) is not None, name


def test_build_mmseg_module_in_mmda_scope():
    with DefaultScope.overwrite_default_scope('mmda'):
        loss = MODELS.build(dict(type='CrossEntropyLoss', loss_weight=2.0))
    assert loss.loss_weight == 2.0


def test_unknown_type_error_names_it():
    with DefaultScope.overwrite_default_scope('mmda'):
        with pytest.raises(KeyError, match='NoSuchModel'):
            MODELS.build(dict(type='NoSuchModel'))


def _registered_in_source():
    """``(registry, name, file)`` of every ``@REGISTRY.register_module(...)``
    class under mmda/ (read from the source, not from the registries)."""
    import ast
    import glob
    import os.path as osp
    root = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'mmda')
    out = []
    for path in sorted(glob.glob(osp.join(root, '**', '*.py'),
                                 recursive=True)):
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for dec in node.decorator_list:
                if not (isinstance(dec, ast.Call)
                        and isinstance(dec.func, ast.Attribute)
                        and dec.func.attr == 'register_module'):
                    continue
                names = [node.name]
                for kw in dec.keywords:
                    if kw.arg == 'name':
                        value = ast.literal_eval(kw.value)
                        names = [value] if isinstance(value, str) else value
                out += [(dec.func.value.id, n, osp.relpath(path, root))
                        for n in names]
    return out


def test_every_registered_class_resolves_after_import_mmda():
    """``import mmda`` alone (a fresh interpreter, as ``custom_imports`` in a
    config) registers every class the package declares: the ``__init__``
    files import all of them."""
    import json
    import subprocess
    import sys
    found = _registered_in_source()
    assert len(found) > 50
    code = ('import json, sys, mmda, mmda.registry as r\n'
            'items = json.loads(sys.stdin.read())\n'
            'print(json.dumps([i for i in items if i[1] not in '
            'getattr(r, i[0]).module_dict]))\n')
    proc = subprocess.run([sys.executable, '-c', code], input=json.dumps(found),
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_package_exports_are_unique_and_importable():
    import mmda.datasets
    import mmda.engine
    import mmda.evaluation
    import mmda.models
    import mmda.visualization
    for pkg in (mmda.datasets, mmda.engine, mmda.evaluation, mmda.models,
                mmda.visualization):
        assert len(pkg.__all__) == len(set(pkg.__all__)), pkg.__name__
        assert all(hasattr(pkg, n) for n in pkg.__all__), pkg.__name__
