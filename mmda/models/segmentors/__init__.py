from .ass import ASS
from .base_uda import BaseUDASegmentor
from .dacs import DACS
from .daformer import DAFormer
from .day_translation import DayTranslationMixin
from .mean_teacher import MeanTeacherUDA
from .sie import SIE

__all__ = [
    'ASS', 'BaseUDASegmentor', 'DACS', 'DAFormer', 'DayTranslationMixin',
    'MeanTeacherUDA', 'SIE'
]
