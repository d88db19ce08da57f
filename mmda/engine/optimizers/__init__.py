from .multi_optim_wrapper_constructor import \
    MultiOptimWrapperConstructor  # noqa: F401
