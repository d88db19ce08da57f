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
