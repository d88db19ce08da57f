from .cyclegan import CycleGAN
from .day2night import Day2NightTranslator
from .fixed_day2night import FixedDay2Night
from .generators import ResnetGenerator
from .inference import build_frozen_generator, tiled_forward

__all__ = [
    'CycleGAN', 'Day2NightTranslator', 'FixedDay2Night', 'ResnetGenerator',
    'build_frozen_generator', 'tiled_forward'
]
