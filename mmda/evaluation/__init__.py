from .subset_iou_metric import SubsetIoUMetric
from .translation_metric import TranslationMetric

__all__ = ['SubsetIoUMetric', 'TranslationMetric']
