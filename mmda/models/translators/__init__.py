from .cyclegan import CycleGAN
from .data_preprocessor import UnpairedDataPreprocessor
from .day2night import Day2NightTranslator
from .generators import ResnetGenerator
from .image_pool import ImagePool
from .inference import (build_frozen_generator, load_generator_weights,
                        tiled_forward)
from .losses import GANLoss, VGGFeatureLoss

__all__ = [
    'CycleGAN', 'UnpairedDataPreprocessor', 'Day2NightTranslator',
    'ResnetGenerator', 'ImagePool', 'build_frozen_generator',
    'load_generator_weights', 'tiled_forward', 'GANLoss', 'VGGFeatureLoss'
]
