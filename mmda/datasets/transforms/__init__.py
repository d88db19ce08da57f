from .day2night import Day2Night
from .mix_transforms import ClassMixTransform, CowMixTransform, CutMixTransform
from .translated_pair import LoadTranslatedImage, PackTranslatedSegInputs

__all__ = [
    'Day2Night', 'ClassMixTransform', 'CowMixTransform', 'CutMixTransform',
    'LoadTranslatedImage', 'PackTranslatedSegInputs'
]
