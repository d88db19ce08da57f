"""Module utilities shared by the models: unwrapping model wrappers, freezing
parameters, dropout and BatchNorm switches, checking optim wrappers, the
several-passes-per-update bookkeeping of a training step and the image
history of GAN discriminators."""
from .image_pool import ImagePool
from .modules import (GANModule, bn_batch_statistics,
                      build_batch_augmentation, dropout_enabled, frozen,
                      frozen_bn_stats, gan_normal_init, set_requires_grad,
                      unwrap)
from .optim import UpdateTracker, check_optim_wrapper

__all__ = [
    'unwrap', 'frozen', 'set_requires_grad', 'bn_batch_statistics',
    'dropout_enabled', 'frozen_bn_stats', 'build_batch_augmentation',
    'gan_normal_init', 'GANModule', 'check_optim_wrapper',
    'UpdateTracker', 'ImagePool'
]
