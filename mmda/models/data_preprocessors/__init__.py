from .uda_data_preprocessor import UDADataPreProcessor
from .unpaired_data_preprocessor import UnpairedDataPreprocessor

__all__ = ['UDADataPreProcessor', 'UnpairedDataPreprocessor']
