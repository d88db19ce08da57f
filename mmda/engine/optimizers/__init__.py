from .multi_optim_wrapper_constructor import \
    MultiOptimWrapperConstructor  # noqa: F401
from .frozen_params import QuietFrozenOptimWrapperConstructor  # noqa: F401
