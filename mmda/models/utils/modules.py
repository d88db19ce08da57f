"""Small helpers on ``nn.Module``: unwrap model wrappers, freeze parameters,
switch dropout and BatchNorm behaviour inside a block, build augmentations
of normalised batches."""
from contextlib import contextmanager
from typing import Iterable, Iterator, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule, is_model_wrapper, normal_init
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

from mmda.registry import MODELS


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


@contextmanager
def bn_batch_statistics(module: nn.Module) -> Iterator[nn.Module]:
    """Let every BatchNorm layer of ``module`` normalise with the statistics
    of the current batch, without touching its buffers.

    This is how the DACS and DAFormer teachers make pseudo-labels: their EMA
    model runs in *train* mode (DACS ``trainUDA.py``: ``ema_model.train()``;
    DAFormer ``mmseg/models/uda/dacs.py`` only switches dropout off), so its
    BatchNorm layers use the target batch's mean and (biased) variance. Here
    only the BatchNorm layers change behaviour (dropout and every other layer
    keep their mode), and ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` stay exactly as they were: inside the context a
    layer has ``training=True, track_running_stats=False``, for which
    PyTorch passes no running buffers to ``F.batch_norm``. The previous
    flags are restored on exit, also after an exception.

    Covers every subclass of ``torch.nn.modules.batchnorm._BatchNorm``
    (``BatchNorm1d/2d/3d``, ``SyncBatchNorm``).
    """
    saved = []
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            saved.append((m, m.training, m.track_running_stats))
            m.training = True
            m.track_running_stats = False
    try:
        yield module
    finally:
        for m, training, track in saved:
            m.training = training
            m.track_running_stats = track


@contextmanager
def dropout_enabled(module: nn.Module, enabled: bool):
    """Switch every dropout layer of ``module`` to train (``enabled``) or
    eval mode for the duration of the block, leaving all other layers (e.g.
    BatchNorm) as they are; the previous modes are restored afterwards."""
    layers = [m for m in module.modules() if isinstance(m, _DropoutNd)]
    modes = [m.training for m in layers]
    try:
        for m in layers:
            m.training = bool(enabled)
        yield layers
    finally:
        for m, mode in zip(layers, modes):
            m.training = mode


@contextmanager
def frozen_bn_stats(module: nn.Module, frozen: bool = True):
    """Keep the running statistics of every BatchNorm layer of ``module``
    unchanged for the duration of the block (momentum 0: batch statistics
    are still used for normalisation in training mode)."""
    layers = [m for m in module.modules() if isinstance(m, _BatchNorm)] \
        if frozen else []
    momenta = [m.momentum for m in layers]
    counts = [m.num_batches_tracked.clone()
              if m.num_batches_tracked is not None else None for m in layers]
    try:
        for m in layers:
            m.momentum = 0.0
        yield
    finally:
        for m, mom, cnt in zip(layers, momenta, counts):
            m.momentum = mom
            if cnt is not None:
                m.num_batches_tracked.copy_(cnt)


def build_batch_augmentation(cfg: Optional[dict], data_preprocessor,
                             owner: str, name: str):
    """Build an augmentation of normalised batches (e.g.
    :class:`~mmda.models.uda.StrongAugmentation`,
    :class:`~mmda.models.uda.NightAugmentation`) from ``cfg``; its ``mean``
    and ``std`` default to those of ``data_preprocessor``. ``None`` gives
    ``None``.

    Args:
        cfg (dict, optional): the augmentation config.
        data_preprocessor: the model's data pre-processor.
        owner (str): class name for the error message.
        name (str): config key of the augmentation, for the error message.
    """
    if cfg is None:
        return None
    cfg = dict(cfg)
    if 'mean' not in cfg or 'std' not in cfg:
        if not getattr(data_preprocessor, '_enable_normalize', False):
            raise ValueError(f'{owner}: {name} needs `mean` and `std` (the '
                             'data pre-processor does not normalise)')
        cfg.setdefault('mean', data_preprocessor.mean.flatten().tolist())
        cfg.setdefault('std', data_preprocessor.std.flatten().tolist())
    return MODELS.build(cfg)


def gan_normal_init(module: nn.Module, std: float = 0.02) -> None:
    """CycleGAN's ``init_type='normal'``: every (transposed) convolution
    weight from N(0, std) and normalisation scale from N(1, std), biases 0
    (used by the generators and the PatchGAN discriminators)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            normal_init(m, mean=0.0, std=std, bias=0.0)
        elif isinstance(m, nn.modules.batchnorm._NormBase) and \
                m.weight is not None:
            normal_init(m, mean=1.0, std=std, bias=0.0)


class GANModule(BaseModule):
    """Base of the CycleGAN networks (generator, PatchGAN discriminator):
    :func:`gan_normal_init` with ``self.init_std`` unless ``init_cfg`` is
    set, and the check of the (B, ``self.in_channels``, H, W) input."""

    def init_weights(self) -> None:
        """Normal(0, init_std) conv weights, zero biases, N(1, init_std) norm
        scales (CycleGAN ``init_type='normal'``), unless ``init_cfg`` is
        set."""
        if self.init_cfg is not None:
            super().init_weights()
            return
        gan_normal_init(self, self.init_std)
        self._is_init = True

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects (B, {self.in_channels}, H, W) '
                f'inputs, got shape {tuple(x.shape)}')
