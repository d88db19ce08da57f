"""SubsetIoUMetric against a hand computation."""
import pytest
import torch
from mmengine.evaluator import Evaluator

from mmda.evaluation.subset_iou_metric import SubsetIoUMetric
from mmda.registry import METRICS

CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
           'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
           'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
           'bicycle')
META = dict(classes=CLASSES)

# 12 pixels; the last two are ignored (255).
GT = [0, 0, 0, 0, 3, 3, 9, 9, 13, 13, 255, 255]
PRED = [0, 0, 0, 3, 3, 9, 9, 13, 13, 5, 0, 5]
# Per class (ignored pixels removed), intersection / union:
#   road 0:    GT {0,1,2,3}, pred {0,1,2}      -> 3 / 4 = 0.75
#   wall 3:    GT {4,5},     pred {3,4}        -> 1 / 3
#   pole 5:    GT {},        pred {9}          -> 0 / 1 = 0
#   terrain 9: GT {6,7},     pred {5,6}        -> 1 / 3
#   car 13:    GT {8,9},     pred {7,8}        -> 1 / 3
#   all others: union 0 -> NaN (skipped by the mean)
MIOU_19 = round((0.75 + 1 / 3 * 3 + 0) / 5 * 100, 2)  # 35.0
MIOU_16 = round((0.75 + 1 / 3 + 0 + 1 / 3) / 4 * 100, 2)  # no terrain: 35.42
MIOU_13 = round((0.75 + 1 / 3) / 2 * 100, 2)  # road, car: 54.17
MIOU_GT = round((0.75 + 1 / 3 * 3) / 4 * 100, 2)  # GT classes 0 3 9 13: 43.75


def sample(gt, pred):
    return dict(
        gt_sem_seg=dict(data=torch.tensor([gt])),
        pred_sem_seg=dict(data=torch.tensor([pred])))


def run(metric, split=False):
    metric.dataset_meta = META
    if split:  # two batches must accumulate to the same result
        metric.process({}, [sample(GT[:6], PRED[:6])])
        metric.process({}, [sample(GT[6:], PRED[6:])])
        return metric.evaluate(2)
    metric.process({}, [sample(GT, PRED)])
    return metric.evaluate(1)


def test_hand_values_are_what_mmseg_iou_metric_gives_on_19_classes():
    from mmseg.evaluation import IoUMetric
    m = IoUMetric(iou_metrics=['mIoU'])
    res = run(m)
    assert res['mIoU'] == pytest.approx(MIOU_19)
    assert MIOU_19 == 35.0 and MIOU_16 == 35.42 and MIOU_13 == 54.17


@pytest.mark.parametrize('classes,expected', [
    ('cityscapes19', MIOU_19),
    ('synthia16', MIOU_16),
    ('synthia13', MIOU_13),
    ('gt_present', MIOU_GT),
    (['road', 'car'], MIOU_13),
    ([13, 0], MIOU_13),
    (['road', 'wall', 'pole', 'terrain', 'car'], MIOU_19),
])
def test_subset_miou(classes, expected):
    res = run(SubsetIoUMetric(classes=classes))
    assert res['mIoU'] == pytest.approx(expected)
    res = run(SubsetIoUMetric(classes=classes), split=True)
    assert res['mIoU'] == pytest.approx(expected)


def test_subset_acc_and_other_metrics():
    res = run(SubsetIoUMetric(classes='synthia13',
                              iou_metrics=['mIoU', 'mDice']))
    # pixels whose GT is road or car: 6, correct: 3 + 1
    assert res['aAcc'] == pytest.approx(66.67)
    assert res['mAcc'] == pytest.approx((3 / 4 + 1 / 2) / 2 * 100)
    # Dice = 2 I / (|pred| + |GT|): road 6/7, car 2/4
    assert res['mDice'] == pytest.approx(round((6 / 7 + 0.5) / 2 * 100, 2))


def test_evaluator_with_prefixes_from_registry():
    cfgs = [
        dict(type='IoUMetric', iou_metrics=['mIoU']),
        dict(type='SubsetIoUMetric', classes='synthia16', prefix='16cls'),
        dict(type='SubsetIoUMetric', classes='synthia13', prefix='13cls'),
    ]
    metrics = [METRICS.build(c) for c in cfgs]
    assert isinstance(metrics[1], SubsetIoUMetric)
    evaluator = Evaluator(metrics)
    evaluator.dataset_meta = META
    evaluator.process([sample(GT, PRED)], {})
    res = evaluator.evaluate(1)
    assert res['mIoU'] == pytest.approx(MIOU_19)
    assert res['16cls/mIoU'] == pytest.approx(MIOU_16)
    assert res['13cls/mIoU'] == pytest.approx(MIOU_13)


def test_subset_metric_errors():
    with pytest.raises(ValueError, match=r"unknown class subset 'synthia12'"):
        SubsetIoUMetric(classes='synthia12')
    with pytest.raises(ValueError, match='`classes` is empty'):
        SubsetIoUMetric(classes=[])
    with pytest.raises(ValueError, match='all class names or all integer'):
        SubsetIoUMetric(classes=['road', 3])
    with pytest.raises(ValueError, match='duplicate entries'):
        SubsetIoUMetric(classes=[1, 1])
    with pytest.raises(ValueError, match=r"classes \['lane'\] are not "
                       'classes of the dataset'):
        run(SubsetIoUMetric(classes=['road', 'lane']))
    with pytest.raises(ValueError, match=r'class indices \[19\] out of range'):
        run(SubsetIoUMetric(classes=[0, 19]))
    m = SubsetIoUMetric(classes='gt_present')
    m.dataset_meta = META
    m.process({}, [sample([255, 255], [0, 1])])
    with pytest.raises(ValueError, match='no labelled pixel'):
        m.evaluate(1)
