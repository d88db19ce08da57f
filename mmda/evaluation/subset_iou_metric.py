"""mIoU over a subset of the classes.

SYNTHIA→Cityscapes results are reported over 16 classes (SYNTHIA has no
terrain, truck and train) and over 13 (also without wall, fence and pole;
docs/methods.md#dataset-formats, DACS thesis Table 4.4). Nighttime Driving's
test set annotates only 17 of the 19 classes and Scherer et al. (§4.1)
report over those.

As in the AdaptSegNet / DACS / DAFormer evaluation code, the per-class IoUs
come from the full confusion of the model's 19-class predictions (a pixel of
an evaluated class predicted as an excluded class is a false negative) and
the mean is taken over the subset only.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation import IoUMetric
from prettytable import PrettyTable

from mmda.registry import METRICS

_CS19 = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole',
         'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky',
         'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle',
         'bicycle')
_SYNTHIA16 = tuple(c for c in _CS19 if c not in ('terrain', 'truck', 'train'))
_SYNTHIA13 = tuple(c for c in _SYNTHIA16 if c not in ('wall', 'fence', 'pole'))

#: Named class subsets (Cityscapes class names).
CLASS_SUBSETS: Dict[str, tuple] = dict(
    cityscapes19=_CS19, synthia16=_SYNTHIA16, synthia13=_SYNTHIA13)
#: Evaluate the classes with at least one labelled pixel in the evaluated set
#: (e.g. the 17 annotated classes of Nighttime Driving's test set).
GT_PRESENT = 'gt_present'


@METRICS.register_module()
class SubsetIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` averaged over a subset of the classes.

    The reported keys are those of ``IoUMetric`` (``aAcc``, ``mIoU``,
    ``mAcc``, ...) computed over the subset: per-class values come from the
    full confusion of all classes, means are taken over the subset, and
    ``aAcc`` is the accuracy on the pixels whose ground truth is in the
    subset. Use ``prefix`` to tell several of them apart, e.g.::

        val_evaluator = [
            dict(type='IoUMetric', iou_metrics=['mIoU']),
            dict(type='SubsetIoUMetric', classes='synthia16', prefix='16cls'),
            dict(type='SubsetIoUMetric', classes='synthia13', prefix='13cls'),
        ]

    Args:
        classes (str | Sequence[str | int]): The subset: a name of
            :data:`CLASS_SUBSETS` (``'synthia16'``, ``'synthia13'``,
            ``'cityscapes19'``), ``'gt_present'`` (the classes having ground
            truth pixels in the evaluated set), or a sequence of class names
            or of class indices of the dataset's ``classes``.
        **kwargs: ``IoUMetric`` arguments (``iou_metrics``, ``prefix``,
            ``ignore_index``, ``nan_to_num``, ...).
    """

    def __init__(self, classes: Union[str, Sequence[Union[str, int]]],
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(classes, str):
            if classes != GT_PRESENT and classes not in CLASS_SUBSETS:
                raise ValueError(
                    f'SubsetIoUMetric: unknown class subset {classes!r}; '
                    f'expected one of {sorted(CLASS_SUBSETS)}, '
                    f"'{GT_PRESENT}', or a list of class names / indices")
        else:
            classes = list(classes)
            if not classes:
                raise ValueError('SubsetIoUMetric: `classes` is empty')
            kinds = {isinstance(c, str) for c in classes}
            if len(kinds) != 1 or not all(
                    isinstance(c, (str, int)) and not isinstance(c, bool)
                    for c in classes):
                raise ValueError(
                    'SubsetIoUMetric: `classes` must be all class names or '
                    f'all integer indices, got {classes}')
            if len(set(classes)) != len(classes):
                raise ValueError(
                    f'SubsetIoUMetric: duplicate entries in classes={classes}')
        self.classes = classes

    def subset_indices(self,
                       total_area_label: Optional[torch.Tensor] = None
                       ) -> List[int]:
        """Indices (into ``dataset_meta['classes']``) of the subset.

        Args:
            total_area_label (torch.Tensor, optional): Labelled pixels per
                class, needed for ``'gt_present'``.
        """
        if self.dataset_meta is None or 'classes' not in self.dataset_meta:
            raise RuntimeError('SubsetIoUMetric needs dataset_meta with '
                               '`classes` (set by the evaluator)')
        names = list(self.dataset_meta['classes'])
        if self.classes == GT_PRESENT:
            if total_area_label is None:
                raise ValueError("classes='gt_present' needs the labelled "
                                 'pixel counts')
            idx = torch.nonzero(total_area_label > 0).flatten().tolist()
            if not idx:
                raise ValueError("SubsetIoUMetric(classes='gt_present'): no "
                                 'labelled pixel in the evaluated set')
            return idx
        wanted = CLASS_SUBSETS[self.classes] if isinstance(
            self.classes, str) else self.classes
        if isinstance(wanted[0], str):
            unknown = [c for c in wanted if c not in names]
            if unknown:
                raise ValueError(
                    f'SubsetIoUMetric: classes {unknown} are not classes of '
                    f'the dataset ({names})')
            return sorted(names.index(c) for c in wanted)
        bad = [i for i in wanted if not 0 <= i < len(names)]
        if bad:
            raise ValueError(f'SubsetIoUMetric: class indices {bad} out of '
                             f'range for {len(names)} classes')
        return sorted(wanted)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics over the class subset.

        Args:
            results (list): ``(intersect, union, pred_area, label_area)``
                per image, from :meth:`IoUMetric.intersect_and_union`.

        Returns:
            dict[str, float]: ``aAcc``, ``mIoU``, ``mAcc``, ... in percent.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            return OrderedDict()
        results = tuple(zip(*results))
        assert len(results) == 4
        totals = [sum(r) for r in results]
        idx = self.subset_indices(totals[3])
        sel = torch.as_tensor(idx, dtype=torch.long)
        ret_metrics = self.total_area_to_metrics(*[t[sel] for t in totals],
                                                 self.metrics, self.nan_to_num,
                                                 self.beta)
        class_names = [self.dataset_meta['classes'][i] for i in idx]

        metrics = dict()
        for key, val in ret_metrics.items():
            val = float(np.round(np.nanmean(val) * 100, 2))
            metrics[key if key == 'aAcc' else 'm' + key] = val

        ret_metrics.pop('aAcc', None)
        table = PrettyTable()
        table.add_column('Class', class_names)
        for key, val in ret_metrics.items():
            table.add_column(key, np.round(val * 100, 2))
        print_log(
            f'per class results ({len(idx)} classes, subset '
            f'{self.classes if isinstance(self.classes, str) else "custom"}):',
            logger)
        print_log('\n' + table.get_string(), logger=logger)
        return metrics
