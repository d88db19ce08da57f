from .consistency_loss import (MaskedConsistencyLoss, confidence_mask,
                               masked_consistency_loss, mse_consistency)
from .cross_entropy import pixel_weighted_cross_entropy, soft_cross_entropy
from .feature_distance import (downscale_label_ratio, masked_feature_distance,
                               thing_class_mask)
from .focal_loss import SoftmaxFocalLoss, softmax_focal_loss
from .gan_loss import GANLoss, adversarial_loss
from .vgg_feature_loss import VGGFeatureLoss

__all__ = [
    'MaskedConsistencyLoss', 'confidence_mask', 'masked_consistency_loss',
    'mse_consistency', 'pixel_weighted_cross_entropy', 'soft_cross_entropy',
    'downscale_label_ratio', 'masked_feature_distance', 'thing_class_mask',
    'SoftmaxFocalLoss', 'softmax_focal_loss', 'GANLoss', 'adversarial_loss',
    'VGGFeatureLoss'
]
