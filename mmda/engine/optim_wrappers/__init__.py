from .nonfinite_guard import (GuardedAmpOptimWrapper, GuardedOptimWrapper,
                              NonFiniteLossError, apply_nonfinite_guard,
                              guard_optim_wrapper)

__all__ = [
    'GuardedOptimWrapper', 'GuardedAmpOptimWrapper', 'NonFiniteLossError',
    'apply_nonfinite_guard', 'guard_optim_wrapper'
]
