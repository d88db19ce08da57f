"""The training step of self-training with scale-invariant examples (SIE).

Subhani & Ali, ECCV 2020 (docs/methods.md#scale-invariant-examples; the
authors' ``train_adp``): every iteration takes one labelled source batch,
trained with cross-entropy only (the loss terms named in
``source_excluded_losses``, by default the focal term, are dropped), and one
batch of scale-invariant examples, trained with the full decode-head loss
(e.g. CE + 0.1 focal), and makes one optimizer step.

The rounds (pseudo-labelling the target, selecting images, writing the
examples) are scheduled by :class:`mmda.engine.loops.SelfTrainingLoop`; the
selection and patch math are the pure functions of
:mod:`mmda.models.uda.sie_selection` and :mod:`mmda.models.uda.sie_patches`.
The step follows the one pattern of every mmda method (docs/step_pattern.md):
``train_step(data, optim_wrapper)`` of
:class:`~mmda.models.segmentors.base_uda.BaseUDASegmentor`, one backward pass
per batch through ``optim_wrapper`` and a single update.
"""
from contextlib import contextmanager, nullcontext
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from torch import Tensor

from mmda.registry import MODELS
from .base_uda import BaseUDASegmentor


@MODELS.register_module()
class SIE(BaseUDASegmentor):
    """Student trained on source batches and scale-invariant examples.

    ``train_step`` takes ``dict(source=batch, examples=batch_or_None)``, two
    collated batches of ``inputs`` / ``data_samples`` (``examples`` None:
    a source-only step, e.g. the loop's warm-up). The log variables are
    ``loss`` (sum of both), ``src.*`` and ``sie.*`` (the parsed losses of
    each batch).

    SIE configs declare ``model = dict(type='SIE', segmentor=...)`` and
    :class:`~mmda.engine.loops.SelfTrainingLoop` trains that model. The
    checkpoints hold the student's weights under ``student.``; a checkpoint
    of a plain segmentor (a source-only start, or an SIE checkpoint of the
    time the loop wrapped the config's segmentor) loads through
    :meth:`migrate_state_dict`.

    Args:
        segmentor (dict | nn.Module): the student (config or built model).
        source_excluded_losses (Sequence[str]): loss keys (substrings) that
            do not apply to source batches. Defaults to ``('loss_focal', )``.
        deterministic_steps (bool): run the step under a forked torch RNG
            seeded by (``train_cfg['seed']``, iteration) (exact resume with
            dropout). Defaults to True.
        train_cfg (dict, optional): ``seed`` of the per-step RNG (default:
            ``torch.initial_seed()``).
        **kwargs: the other arguments of :class:`BaseUDASegmentor`
            (``data_preprocessor``, ``test_cfg``, ``init_cfg``).
    """

    def __init__(self,
                 segmentor: Union[dict, nn.Module],
                 source_excluded_losses: Sequence[str] = ('loss_focal', ),
                 deterministic_steps: bool = True,
                 train_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(segmentor=segmentor, train_cfg=train_cfg, **kwargs)
        self.source_excluded_losses = tuple(source_excluded_losses)
        self.deterministic_steps = bool(deterministic_steps)

    @classmethod
    def migrate_state_dict(cls, state: dict, prefix: str = '') -> dict:
        """``state`` with the keys of a plain segmentor moved under
        ``student.`` (in place; also returned).

        SIE checkpoints written before the configs declared
        ``type='SIE'`` (the loop wrapped the config's plain segmentor), and
        the source-only checkpoints SIE starts from (``load_from``), hold
        the segmentor's own keys (``backbone.*``, ``decode_head.*``). A
        ``state`` that has no key under ``{prefix}student.`` gets them
        there, and the step counters (absent from such checkpoints) start
        at 0; a state of an ``SIE`` is returned unchanged.
        """
        if any(k.startswith(prefix + 'student.') for k in state):
            return state
        keys = [k for k in state if k.startswith(prefix)
                and k[len(prefix):] not in cls._counters]
        for k in keys:
            state[prefix + 'student.' + k[len(prefix):]] = state.pop(k)
        meta = getattr(state, '_metadata', None)  # module versions
        if meta is not None:
            for k in [k for k in meta if k.startswith(prefix) and k != prefix
                      and k[len(prefix):] not in ('', 'student')]:
                meta[prefix + 'student.' + k[len(prefix):]] = meta.pop(k)
        for name in cls._counters:
            state.setdefault(prefix + name,
                             torch.zeros((), dtype=torch.long))
        return state

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the checkpoint-loading path of mmengine (load_from, resume,
        # tools/test.py) and of torch's load_state_dict both come here
        self.migrate_state_dict(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @contextmanager
    def step_rng(self):
        """The global torch RNG of one step, seeded from (seed, iteration):
        ``(seed * 1000003 + 104729 * (iteration + 1)) mod 2**62``, the
        stream of the self-training loop's steps since its first version
        (checkpoints of earlier runs resume onto the same draws)."""
        if not self.deterministic_steps:
            with nullcontext():
                yield
            return
        seed = self.train_cfg.get('seed', None)
        if seed is None:
            seed = torch.initial_seed()
        devices = [torch.cuda.current_device()] \
            if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed((int(seed) * 1000003 + 104729 *
                               (int(self.uda_iter) + 1)) % (2**62))
            yield

    def preprocess(self, data: dict) -> dict:
        """Both batches through the data pre-processor."""
        if not isinstance(data, dict) or 'source' not in data:
            raise TypeError(
                'SIE.train_step expects dict(source=batch, examples=batch or '
                f'None), got {type(data).__name__}'
                + (f' with keys {sorted(data)}' if isinstance(data, dict)
                   else ''))
        out = dict(source=self.data_preprocessor(data['source'], True))
        if data.get('examples') is not None:
            out['examples'] = self.data_preprocessor(data['examples'], True)
        return out

    def _losses(self, batch: dict, optim_wrapper: OptimWrapper
                ) -> Dict[str, Tensor]:
        with optim_wrapper.optim_context(self):
            return self.student(batch['inputs'], batch['data_samples'],
                                mode='loss')

    def forward_train(self, data: dict, optim_wrapper: OptimWrapper
                      ) -> Dict[str, Tensor]:
        """Source losses (without the excluded terms) back-propagated, then
        the example losses; :meth:`train_step` makes the one update."""
        ex = data.get('examples')
        # the example pass reduces the student's gradients under DDP
        with self.no_sync_student() if ex is not None else nullcontext():
            losses = {k: v for k, v in self._losses(
                data['source'], optim_wrapper).items()
                if not any(x in k for x in self.source_excluded_losses)}
            src_loss, src_vars = self.parse_losses(losses)
            self.backward(src_loss, optim_wrapper)
        total = src_loss.detach()
        log_vars = {f'src.{k}': v.detach() for k, v in src_vars.items()
                    if k != 'loss'}
        if ex is not None:
            ex_loss, ex_vars = self.parse_losses(
                self._losses(ex, optim_wrapper))
            self.backward(ex_loss, optim_wrapper)
            total = total + ex_loss.detach()
            log_vars.update({f'sie.{k}': v.detach()
                             for k, v in ex_vars.items() if k != 'loss'})
        return dict(loss=total, **log_vars)
