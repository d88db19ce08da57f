"""Shared UDA machinery: mixing, strong and night augmentation, masking,
pseudo-labels, distribution alignment, EMA."""
from .augmentation import StrongAugmentation
from .dist_align import DistributionAlignment
from .ema import ema_alpha, ema_update
from .masking import BlockMasking, MaskedImageConsistency
from .mixing import BaseMix, ClassMix, CowMix, CutMix
from .night_augmentation import NightAugmentation
from .pseudo_label import (PSEUDO_WEIGHT_MODES, pseudo_label_weight,
                           sigmoid_rampup)

__all__ = [
    'BaseMix', 'ClassMix', 'CutMix', 'CowMix', 'StrongAugmentation',
    'BlockMasking', 'MaskedImageConsistency', 'NightAugmentation',
    'pseudo_label_weight', 'sigmoid_rampup',
    'PSEUDO_WEIGHT_MODES', 'DistributionAlignment', 'ema_update', 'ema_alpha'
]
