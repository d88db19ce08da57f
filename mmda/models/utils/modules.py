"""Small helpers on ``nn.Module``: unwrap model wrappers, freeze parameters."""
from contextlib import contextmanager
from typing import Iterable, Optional, Union

import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap(module: Optional[nn.Module]) -> Optional[nn.Module]:
    """The module inside (nested) model wrappers: mmengine's
    ``MMDistributedDataParallel`` / ``MMSeparateDistributedDataParallel``
    and every other registered wrapper, torch's ``DataParallel`` and
    ``DistributedDataParallel``; the module itself otherwise (``None`` stays
    ``None``)."""
    while module is not None and (
            is_model_wrapper(module)
            or isinstance(module, (nn.DataParallel,
                                   nn.parallel.DistributedDataParallel))):
        module = module.module
    return module


Modules = Union[None, nn.Module, Iterable[Optional[nn.Module]]]


def _modules(modules: Modules):
    if modules is None:
        return []
    if isinstance(modules, nn.Module):
        return [modules]
    return [m for m in modules if m is not None]


def set_requires_grad(modules: Modules, flag: bool) -> None:
    """``requires_grad_(flag)`` on every parameter of ``modules`` (a module,
    ``None`` or an iterable of them)."""
    for m in _modules(modules):
        m.requires_grad_(flag)


@contextmanager
def frozen(modules: Modules):
    """Parameters of ``modules`` do not require gradients inside the block
    (e.g. the discriminators while the generator or segmentor loss is
    back-propagated); each parameter's previous flag is restored after it.

    Example:
        >>> with frozen([disc_a, disc_b]):
        ...     loss = gan_loss(disc_b(gen(real_a)), True)
    """
    params = [p for m in _modules(modules) for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
