from .frozen_params import QuietFrozenOptimWrapperConstructor
from .multi_optim_wrapper_constructor import MultiOptimWrapperConstructor

__all__ = [
    'MultiOptimWrapperConstructor', 'QuietFrozenOptimWrapperConstructor'
]
