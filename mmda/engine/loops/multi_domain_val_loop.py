"""Validation / test on several domains in one run.

mmengine 0.10.7's ``ValLoop`` and ``TestLoop`` evaluate one dataloader with
one evaluator. Domain adaptation and extension are judged on several domains
at once (Scherer et al. 2021 report Cityscapes val *and* Nighttime Driving
test, Table 1), so these loops run a list of ``(prefix, dataloader,
evaluator)`` domains one after the other and merge their metrics as
``'{prefix}/{metric}'`` (e.g. ``day/mIoU``, ``night/mIoU``), which the logger
prints and ``CheckpointHook(save_best='night/mIoU')`` can select on::

    val_dataloader = cityscapes_val_dataloader   # required by the Runner
    val_evaluator = cityscapes_evaluator         # required by the Runner
    val_cfg = dict(
        type='MultiDomainValLoop',
        domains=[
            dict(prefix='day'),                  # the runner's val_dataloader
            dict(prefix='night',                 # and val_evaluator
                 dataloader=night_driving_test_dataloader,
                 evaluator=night_driving_evaluator),
        ])
    test_cfg = dict(type='MultiDomainTestLoop', domains=[...])

A domain without ``dataloader``/``evaluator`` uses the runner's
``val_dataloader``/``val_evaluator`` (``test_*`` for the test loop); at most
one domain may do so. Hooks see one validation epoch: ``before_val_epoch``
once, ``before/after_val_iter`` for every batch of every domain (``batch_idx``
restarts at 0 for each domain), ``after_val_epoch`` once with all metrics.
"""
import copy
import logging
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.runner.amp import autocast
from mmengine.runner.base_loop import BaseLoop
from mmengine.runner.loops import _parse_losses, _update_losses
from torch.utils.data import DataLoader

from mmda.registry import LOOPS


class _MultiDomainLoop(BaseLoop):
    """Shared implementation of :class:`MultiDomainValLoop` and
    :class:`MultiDomainTestLoop`."""

    stage = 'val'

    def __init__(self,
                 runner,
                 dataloader: Optional[Union[DataLoader, Dict]] = None,
                 evaluator: Optional[Union[Evaluator, Dict, List]] = None,
                 domains: Optional[Sequence[dict]] = None,
                 separator: str = '/',
                 fp16: bool = False) -> None:
        name = type(self).__name__
        if not domains:
            raise ValueError(
                f'{name}: `domains` must be a non-empty list of '
                "dict(prefix=..., dataloader=..., evaluator=...) (e.g. in "
                f'{self.stage}_cfg)')
        if not isinstance(domains, (list, tuple)):
            raise TypeError(f'{name}: `domains` must be a list of dicts, got '
                            f'{type(domains).__name__}')
        prefixes = []
        uses_default = 0
        for i, d in enumerate(domains):
            if not isinstance(d, dict) or not isinstance(
                    d.get('prefix'), str) or not d['prefix']:
                raise ValueError(
                    f'{name}: {self.stage}_cfg.domains[{i}] must be a dict '
                    f'with a non-empty string `prefix`, got {d!r:.200}')
            unknown = set(d) - {'prefix', 'dataloader', 'evaluator'}
            if unknown:
                raise KeyError(f'{name}: {self.stage}_cfg.domains[{i}] has '
                               f'unknown keys {sorted(unknown)} (expected '
                               'prefix, dataloader, evaluator)')
            if d.get('dataloader') is None:
                uses_default += 1
            prefixes.append(d['prefix'])
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f'{name}: domain prefixes must be unique, got '
                             f'{prefixes}')
        if uses_default > 1:
            raise ValueError(
                f'{name}: only one domain may use the runner\'s '
                f'{self.stage}_dataloader (omit `dataloader`); give the '
                'others their own dataloader')
        self.separator = separator
        self.fp16 = fp16
        self._runner = runner
        self.domains: List[dict] = []
        for i, d in enumerate(domains):
            dl = d.get('dataloader')
            ev = d.get('evaluator')
            if dl is None:
                if dataloader is None:
                    raise ValueError(
                        f'{name}: {self.stage}_cfg.domains[{i}] '
                        f'({d["prefix"]!r}) has no dataloader and the runner '
                        f'has no {self.stage}_dataloader')
                dl = dataloader
                if ev is None:
                    ev = evaluator
            if ev is None:
                raise ValueError(
                    f'{name}: {self.stage}_cfg.domains[{i}] ({d["prefix"]!r}) '
                    'needs an `evaluator` (only the domain using the '
                    f"runner's {self.stage}_dataloader defaults to "
                    f'{self.stage}_evaluator)')
            if isinstance(dl, dict):
                diff_rank_seed = runner._randomness_cfg.get(
                    'diff_rank_seed', False)
                dl = runner.build_dataloader(
                    copy.deepcopy(dl), seed=runner.seed,
                    diff_rank_seed=diff_rank_seed)
            if isinstance(ev, (dict, list)):
                ev = runner.build_evaluator(copy.deepcopy(ev))
            elif not isinstance(ev, Evaluator):
                raise TypeError(
                    f'{name}: the evaluator of domain {d["prefix"]!r} must be '
                    f'a dict, a list or an Evaluator, got {type(ev)}')
            if any(ev is other['evaluator'] for other in self.domains):
                raise ValueError(
                    f'{name}: domain {d["prefix"]!r} shares an Evaluator '
                    'instance with another domain; give each its own config')
            self.domains.append(
                dict(prefix=d['prefix'], dataloader=dl, evaluator=ev))
        # ``runner.val_dataloader`` / ``test_dataloader`` and the logger use
        # ``loop.dataloader``: the first domain's.
        self.dataloader = self.domains[0]['dataloader']
        self.evaluator = self.domains[0]['evaluator']
        self.losses: Dict[str, object] = dict()

    def _set_meta(self, domain: dict) -> None:
        dataset = domain['dataloader'].dataset
        if hasattr(dataset, 'metainfo'):
            domain['evaluator'].dataset_meta = dataset.metainfo
            self.runner.visualizer.dataset_meta = dataset.metainfo
        else:
            print_log(
                f'Dataset {type(dataset).__name__} of domain '
                f'{domain["prefix"]!r} has no metainfo; dataset_meta of its '
                'evaluator will be None.',
                logger='current',
                level=logging.WARNING)

    def _step(self, data_batch):
        model = self.runner.model
        return model.val_step(data_batch) if self.stage == 'val' \
            else model.test_step(data_batch)

    def run(self) -> dict:
        """Evaluate every domain; returns the prefixed metrics."""
        stage = self.stage
        self.runner.call_hook(f'before_{stage}')
        self.runner.call_hook(f'before_{stage}_epoch')
        self.runner.model.eval()
        metrics: Dict[str, float] = {}
        for domain in self.domains:
            self._set_meta(domain)
            # the logger reads ``len(loop.dataloader)`` for its progress
            self.dataloader = domain['dataloader']
            losses: dict = dict()
            for idx, data_batch in enumerate(domain['dataloader']):
                losses = self.run_iter(idx, data_batch, domain, losses)
            dom_metrics = domain['evaluator'].evaluate(
                len(domain['dataloader'].dataset))
            if losses:
                dom_metrics.update(_parse_losses(losses, stage))
            for k, v in dom_metrics.items():
                metrics[f'{domain["prefix"]}{self.separator}{k}'] = v
        # back to the first domain (meta for later visualisation)
        self.dataloader = self.domains[0]['dataloader']
        self._set_meta(self.domains[0])
        self.runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{stage}')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch, domain: dict,
                 losses: dict) -> dict:
        stage = self.stage
        self.runner.call_hook(
            f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self._step(data_batch)
        outputs, losses = _update_losses(outputs, losses)
        domain['evaluator'].process(data_samples=outputs,
                                    data_batch=data_batch)
        self.runner.call_hook(
            f'after_{stage}_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
        return losses


@LOOPS.register_module()
class MultiDomainValLoop(_MultiDomainLoop):
    """Validation on several domains; metrics ``'{prefix}/{name}'``.

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader | dict, optional): the runner's
            ``val_dataloader`` (passed by the runner), used by the domain
            that has no ``dataloader``.
        evaluator (Evaluator | dict | list, optional): the runner's
            ``val_evaluator``, used with that dataloader.
        domains (list[dict]): ``dict(prefix, dataloader=None,
            evaluator=None)`` per domain, evaluated in this order.
        separator (str): between prefix and metric name. Defaults to '/'.
        fp16 (bool): autocast during evaluation.
    """

    stage = 'val'


@LOOPS.register_module()
class MultiDomainTestLoop(_MultiDomainLoop):
    """Test on several domains; the same arguments as
    :class:`MultiDomainValLoop` with the runner's ``test_dataloader`` /
    ``test_evaluator`` as the default domain."""

    stage = 'test'
