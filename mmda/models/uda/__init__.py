"""Shared UDA machinery: mixing, strong augmentation, pseudo-labels, EMA."""
from .augmentation import StrongAugmentation
from .dist_align import DistributionAlignment
from .ema import ema_alpha, ema_update
from .mixing import BaseMix, ClassMix, CowMix, CutMix
from .pseudo_label import (PSEUDO_WEIGHT_MODES, mse_consistency,
                           pseudo_label_weight, sigmoid_rampup,
                           soft_cross_entropy)

__all__ = [
    'BaseMix', 'ClassMix', 'CutMix', 'CowMix', 'StrongAugmentation',
    'pseudo_label_weight', 'sigmoid_rampup', 'soft_cross_entropy',
    'mse_consistency', 'PSEUDO_WEIGHT_MODES', 'DistributionAlignment',
    'ema_update', 'ema_alpha'
]
