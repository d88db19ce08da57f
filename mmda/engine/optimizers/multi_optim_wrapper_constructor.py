"""One optimizer wrapper per sub-network (GANs, adversarial UDA).

mmengine 0.10.7 builds an :class:`~mmengine.optim.OptimWrapperDict` only from
already-built wrappers (``Runner.build_optim_wrapper``); this constructor
builds it from configs keyed by submodule name, like mmagic's
``MultiOptimWrapperConstructor``::

    optim_wrapper = dict(
        constructor='MultiOptimWrapperConstructor',
        gen_a2b=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4),
                     clip_grad=dict(max_norm=5.0)),
        disc_a=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4),
                    paramwise_cfg=dict(...)),            # optional
        seg=dict(modules=['backbone', 'decode_head'],   # several submodules
                 type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)))
"""
from typing import Dict, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from mmda.models.utils import unwrap
from mmda.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                           OPTIMIZERS)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per named submodule.

    Each key of ``optim_wrapper_cfg`` is the name of a direct submodule of the
    model (or an arbitrary name with a ``modules=[...]`` list of submodule
    names) and its value a normal optim-wrapper config (``type``,
    ``optimizer``, ``clip_grad``, optional ``paramwise_cfg``). Parameters of
    submodules not named anywhere get no optimizer; a parameter claimed by two
    wrappers is an error.

    Args:
        optim_wrapper_cfg (dict): ``{name: wrapper cfg}``.
        paramwise_cfg (dict, optional): Must be ``None``; give it per wrapper.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError('MultiOptimWrapperConstructor: optim_wrapper must '
                            f'be a non-empty dict {{submodule name: optim '
                            f'wrapper cfg}}, got {optim_wrapper_cfg!r}')
        if paramwise_cfg is not None:
            raise ValueError('MultiOptimWrapperConstructor: put paramwise_cfg '
                             'inside each per-module optim wrapper config')
        if 'optimizer' in optim_wrapper_cfg or 'type' in optim_wrapper_cfg:
            raise ValueError(
                'MultiOptimWrapperConstructor: optim_wrapper has top-level '
                '"optimizer"/"type" keys; expected one entry per submodule, '
                'e.g. gen=dict(type="OptimWrapper", optimizer=...)')
        self.constructors: Dict[str, DefaultOptimWrapperConstructor] = {}
        self.modules: Dict[str, list] = {}
        for key, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise TypeError(
                    f'MultiOptimWrapperConstructor: optim_wrapper.{key} must '
                    f'be a dict with an "optimizer" entry, got {cfg!r}')
            cfg = dict(cfg)
            modules = cfg.pop('modules', key)
            self.modules[key] = [modules] if isinstance(modules,
                                                        str) else list(modules)
            paramwise = cfg.pop('paramwise_cfg', None)
            # one summary line instead of a warning per frozen parameter
            from .frozen_params import QuietFrozenOptimWrapperConstructor
            self.constructors[key] = QuietFrozenOptimWrapperConstructor(
                cfg, paramwise)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap(model)
        wrappers = {}
        owner: Dict[int, str] = {}
        for key, constructor in self.constructors.items():
            subs = []
            for name in self.modules[key]:
                sub = model._modules.get(name)
                if sub is None:
                    raise KeyError(
                        f'MultiOptimWrapperConstructor: optim_wrapper.{key} '
                        f'refers to submodule {name!r} which '
                        f'{type(model).__name__} does not have; its '
                        f'submodules are {list(model._modules)}')
                subs.append(unwrap(sub))
            for sub in subs:
                for p in sub.parameters():
                    if id(p) in owner:
                        raise ValueError(
                            'MultiOptimWrapperConstructor: a parameter is '
                            f'claimed by both {owner[id(p)]!r} and {key!r}')
                    owner[id(p)] = key
            if len(subs) == 1:
                wrappers[key] = constructor(subs[0])
            else:
                if constructor.paramwise_cfg:
                    raise ValueError(
                        f'MultiOptimWrapperConstructor: optim_wrapper.{key}: '
                        'paramwise_cfg needs a single module')
                optimizer_cfg = dict(constructor.optimizer_cfg)
                optimizer_cfg['params'] = [
                    p for sub in subs for p in sub.parameters()
                ]
                optimizer = OPTIMIZERS.build(optimizer_cfg)
                wrapper_cfg = dict(constructor.optim_wrapper_cfg)
                wrapper_cfg.setdefault('type', 'OptimWrapper')
                wrappers[key] = OPTIM_WRAPPERS.build(
                    wrapper_cfg, default_args=dict(optimizer=optimizer))
        return OptimWrapperDict(**wrappers)
