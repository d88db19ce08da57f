from .cyclegan import CycleGAN
from .day2night import Day2NightTranslator
from .generators import ResnetGenerator
from .inference import build_frozen_generator, tiled_forward

__all__ = [
    'CycleGAN', 'Day2NightTranslator', 'ResnetGenerator',
    'build_frozen_generator', 'tiled_forward'
]
