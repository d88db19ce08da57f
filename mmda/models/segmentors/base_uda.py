"""Base class of the domain-adaptation segmentors: a student, an optional mean
teacher, and a training step of several forward/backward passes followed by a
single optimizer step."""
import copy
import functools
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.dist import get_rank
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from mmda.registry import MODELS
from ..utils import UpdateTracker, check_optim_wrapper, unwrap  # noqa: F401


def _accept_pretrained(init):
    """Let a UDA segmentor's ``__init__`` take mmseg's ``pretrained=None``
    (``mmseg.apis.init_model`` sets it on every model config); the student's
    weights are set in ``model.segmentor`` (or come from the checkpoint)."""
    @functools.wraps(init)
    def wrapper(self, *args, pretrained=None, **kwargs):
        if pretrained is not None:
            raise ValueError(
                f'{type(self).__name__}: pretrained={pretrained!r} is not used '
                'by a UDA segmentor; set it in model.segmentor (e.g. '
                'model.segmentor.backbone.init_cfg)')
        init(self, *args, **kwargs)
    return wrapper


@MODELS.register_module()
class BaseUDASegmentor(BaseSegmentor):
    """Student (+ optional EMA teacher) around any mmseg segmentor.

    ``train_step`` of this base class trains the student on the source half
    of the batch only (a source-only baseline that reads the same
    :class:`~mmda.datasets.uda_dataset.UDADataset` batches); methods such as
    :class:`~mmda.models.segmentors.dacs.DACS` override :meth:`forward_train`.

    The teacher is updated by :class:`mmda.engine.hooks.EMATeacherHook` after the
    optimizer step; its update counter is the buffer ``ema_step`` so that it
    is saved in checkpoints and survives ``--resume`` (docs/methods.md
    #student-and-teacher). The buffer ``uda_iter`` counts training steps (iteration
    dependent ramps and the per-iteration random generator of
    :meth:`iter_generator` use it).

    Under DDP use ``model_wrapper_cfg=dict(type=
    'MMSeparateDistributedDataParallel', ...)``: mmengine then wraps
    ``student`` alone in DDP (the teacher has no trainable parameters) and
    calls this module's own ``train_step``. The student must therefore be
    called through its forward (``self.student(x, samples, mode=...)``);
    other attributes are read from :attr:`student_module`.

    Args:
        segmentor (dict | nn.Module): config of the student, any mmseg
            segmentor (e.g. ``EncoderDecoder``); its own
            ``data_preprocessor`` is unused. A built module (e.g. a runner's
            model, possibly DDP-wrapped) is used as the student as it is,
            with its own ``data_preprocessor`` by default.
        teacher (bool | dict): False for no teacher; True for a deep copy of
            the student; a dict builds the teacher from that config (it must
            have the student's architecture; the student's weights are
            copied in). Teacher parameters never require gradients.
        eval_model (str): the network used by ``val_step``/``test_step``/
            ``predict``: ``'student'`` (DACS) or ``'teacher'`` (Scherer et
            al.). Defaults to ``'student'``.
        data_preprocessor (dict, optional): defaults to the segmentor's
            ``data_preprocessor`` with type ``UDADataPreProcessor``; a
            ``SegDataPreProcessor`` config is turned into a
            ``UDADataPreProcessor`` with the same arguments.
        train_cfg (dict, optional): method options (unused by the base).
        test_cfg (dict, optional): unused (the student's ``test_cfg``
            applies).
        init_cfg (dict, optional): initialisation config.
    """
    #: step counters (buffers, checkpointed; not segmentor weights)
    _counters = ('ema_step', 'uda_iter')

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if '__init__' in cls.__dict__:  # e.g. DACS, MeanTeacher, ASS
            cls.__init__ = _accept_pretrained(cls.__dict__['__init__'])

    @_accept_pretrained
    def __init__(self,
                 segmentor: dict,
                 teacher: Union[bool, dict] = False,
                 eval_model: str = 'student',
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        built = isinstance(segmentor, nn.Module)  # used as it is
        if not built and (not isinstance(segmentor, dict)
                          or 'type' not in segmentor):
            raise TypeError(
                f'{type(self).__name__}: `segmentor` must be a model config '
                'dict with a `type` (e.g. the EncoderDecoder of '
                f'configs/_base_/models/*.py), got {segmentor!r:.200}')
        if eval_model not in ('student', 'teacher'):
            raise ValueError(f'{type(self).__name__}: eval_model must be '
                             f"'student' or 'teacher', got {eval_model!r}")
        if eval_model == 'teacher' and not teacher:
            raise ValueError(f"{type(self).__name__}: eval_model='teacher' "
                             'needs teacher=True (or a teacher config)')
        if data_preprocessor is None and built:
            data_preprocessor = unwrap(segmentor).data_preprocessor
        elif data_preprocessor is None:
            seg_dp = segmentor.get('data_preprocessor', None)
            data_preprocessor = dict(type='UDADataPreProcessor')
            if seg_dp is not None:
                data_preprocessor.update(
                    {k: v for k, v in dict(seg_dp).items() if k != 'type'})
        seg_types = ('SegDataPreProcessor', 'mmseg.SegDataPreProcessor')
        if isinstance(data_preprocessor, dict) and \
                data_preprocessor.get('type') in seg_types:
            # e.g. the top-level ``data_preprocessor`` of a model base config,
            # which mmengine's Runner puts into the model config: same
            # arguments, applied to both halves of UDA batches
            data_preprocessor = dict(data_preprocessor,
                                     type='UDADataPreProcessor')
        if isinstance(data_preprocessor, dict):
            # built from mmda's registry (finds mmda's and mmseg's types
            # without a default scope)
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})
        self.eval_model = eval_model

        # ConfigDict: mmseg segmentors read e.g. ``test_cfg.mode``
        self.student = segmentor if built else MODELS.build(
            ConfigDict(copy.deepcopy(segmentor)))
        if teacher is True:
            self.teacher = copy.deepcopy(self.student)
        elif isinstance(teacher, dict):
            self.teacher = MODELS.build(ConfigDict(copy.deepcopy(teacher)))
            self._copy_student_to_teacher(strict_error=True)
        elif teacher is False or teacher is None:
            self.teacher = None
        else:
            raise TypeError(f'{type(self).__name__}: teacher must be a bool '
                            f'or a segmentor config dict, got {teacher!r}')
        if self.teacher is not None:
            self.teacher.requires_grad_(False)
            self.teacher.eval()

        for name in self._counters:
            self.register_buffer(name, torch.zeros((), dtype=torch.long))
        # Visualisation: UDAVisualizationHook sets ``vis_requested``; the
        # training step then stores detached CPU tensors in ``vis_data``.
        self.vis_requested = False
        self.vis_data: Optional[Dict[str, Tensor]] = None
        self._generators: Dict[str, torch.Generator] = {}
        self._updates = UpdateTracker()

    # ------------------------------------------------------------- modules
    @property
    def student_module(self) -> nn.Module:
        """The student, unwrapped from DDP."""
        return unwrap(self.student)

    @property
    def teacher_module(self) -> Optional[nn.Module]:
        return None if self.teacher is None else unwrap(self.teacher)

    @property
    def eval_module(self) -> nn.Module:
        if self.eval_model == 'teacher':
            return self.teacher_module
        return self.student_module

    @property
    def align_corners(self) -> bool:
        return self.student_module.align_corners

    @property
    def num_classes(self) -> int:
        return self.student_module.num_classes

    @property
    def out_channels(self) -> int:
        return self.student_module.out_channels

    @property
    def decode_head(self) -> nn.Module:
        return self.eval_module.decode_head

    def _copy_student_to_teacher(self, strict_error: bool = False) -> None:
        if self.teacher is None:
            return
        s_state = self.student_module.state_dict()
        t_state = self.teacher_module.state_dict()
        bad = [k for k in s_state
               if k not in t_state or t_state[k].shape != s_state[k].shape]
        bad += [k for k in t_state if k not in s_state]
        if bad:
            raise ValueError(
                f'{type(self).__name__}: the teacher config must have the '
                f'student\'s architecture; mismatched keys: {bad[:10]}')
        self.teacher_module.load_state_dict(s_state)

    def init_weights(self) -> None:
        """Initialise the student and start the teacher as its copy."""
        super().init_weights()
        with torch.no_grad():
            self._copy_student_to_teacher()

    def train(self, mode: bool = True) -> 'BaseUDASegmentor':
        """Set the training mode; the teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    # ------------------------------------------------------- eval / predict
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.eval_module.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        return self.eval_module.encode_decode(inputs, batch_img_metas)

    def predict(self, inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Predict with :attr:`eval_model` (``'student'`` or ``'teacher'``)."""
        return self.eval_module.predict(inputs, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None):
        return self.eval_module._forward(inputs, data_samples)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Supervised loss of the student (source only)."""
        return self.student(inputs, data_samples, mode='loss')

    # ------------------------------------------------------------ training
    @staticmethod
    def rename_losses(losses: Dict[str, Tensor], prefix: str,
                      strip: str = 'decode.') -> Dict[str, Tensor]:
        """``{'decode.loss_ce': x}`` -> ``{prefix + 'loss_ce': x}``."""
        out = OrderedDict()
        for k, v in losses.items():
            if strip and k.startswith(strip):
                k = k[len(strip):]
            out[prefix + k] = v
        return out

    @contextmanager
    def no_sync_student(self):
        """Skip the DDP gradient all-reduce of the student (its gradients are
        reduced by the last backward pass of the step)."""
        ctx = self.student.no_sync() if hasattr(self.student, 'no_sync') \
            else nullcontext()
        with ctx:
            yield

    def backward(self, loss: Tensor, optim_wrapper: OptimWrapper,
                 **kwargs) -> None:
        """Back-propagate one of the losses of ``optim_wrapper``'s network.

        Several calls in one training step accumulate the gradients of one
        update, made by :meth:`optimizer_step` (called by :meth:`train_step`
        for networks the step did not finish itself). The first pass goes
        through ``optim_wrapper.backward`` (AMP loss scaling, gradient
        accumulation count, non-finite guard); the others are scaled alike
        (:class:`mmda.models.utils.UpdateTracker`).
        """
        self._updates.backward(optim_wrapper, loss, **kwargs)

    def optimizer_step(self, optim_wrapper: OptimWrapper) -> None:
        """Finish the update of ``optim_wrapper``'s network in this step
        (clip, step and zero the gradients when the wrapper's gradient
        accumulation says so)."""
        self._updates.step(optim_wrapper, type(self).__name__)

    def update_params(self, loss: Tensor, optim_wrapper: OptimWrapper,
                      **kwargs) -> None:
        """``optim_wrapper.update_params(loss)`` for a network updated from a
        single loss: :meth:`backward` then :meth:`optimizer_step`."""
        self.backward(loss, optim_wrapper, **kwargs)
        self.optimizer_step(optim_wrapper)

    def iter_generator(self, device: torch.device) -> torch.Generator:
        """A generator seeded from (seed, iteration, rank).

        The random choices of a training step (mix masks, augmentation
        parameters) depend on the iteration only, not on the history of the
        global RNG, so a run resumed from a checkpoint draws the same values
        as an uninterrupted run. The seed is ``train_cfg['seed']`` or, by
        default, ``torch.initial_seed()`` (mmengine's ``randomness.seed``,
        also restored on resume).
        """
        seed = self.train_cfg.get('seed', None)
        if seed is None:
            seed = torch.initial_seed()
        key = str(device)
        g = self._generators.get(key)
        if g is None:
            g = torch.Generator(device=device)
            self._generators[key] = g
        mixed = (int(seed) * 1_000_003 + int(self.uda_iter) * 7_919 +
                 get_rank() * 104_729) % (2**63 - 1)
        g.manual_seed(mixed)
        return g

    def stash_vis(self, **tensors: Tensor) -> None:
        """Keep detached CPU copies of tensors for the visualisation hook
        (only on iterations where it asked for them)."""
        if not self.vis_requested:
            return
        data = self.vis_data if self.vis_data is not None else {}
        for k, v in tensors.items():
            if v is not None:
                data[k] = v.detach().float().cpu()
        self.vis_data = data

    #: networks updated by :meth:`train_step`, each by the optim wrapper of
    #: that name (a single ``OptimWrapper`` is accepted for one network)
    optim_wrapper_keys = ('student', )

    @contextmanager
    def step_rng(self):
        """The global RNG state of one training step.

        Ops that draw from the global RNG inside a step (dropout, noise
        augmentations) get a state derived from (seed, iteration, rank): a
        resumed run then replays exactly the uninterrupted run's draws. The
        state outside the step is restored afterwards.
        """
        devices = [torch.cuda.current_device()] \
            if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            step_seed = int(self.iter_generator('cpu').initial_seed()) + 1
            torch.manual_seed(step_seed % (2**63 - 1))
            yield

    def preprocess(self, data: Union[dict, tuple, list]) -> dict:
        """The training batch through the data pre-processor (both halves
        of a UDA batch)."""
        return self.data_preprocessor(data, True)

    def forward_train(self, data: dict,
                      optim_wrapper: Union[OptimWrapper, Dict[str,
                                                              OptimWrapper]]
                      ) -> Dict[str, Tensor]:
        """Losses of one step; call :meth:`backward` for each of them.

        ``optim_wrapper`` is the student's wrapper when
        :attr:`optim_wrapper_keys` names one network, else the dict
        ``{key: wrapper}``. Networks with a backward pass and no
        :meth:`optimizer_step` are stepped by :meth:`train_step` afterwards.
        The base class trains the student on the source half only.
        """
        with optim_wrapper.optim_context(self):
            losses = self.student(data['inputs'], data['data_samples'],
                                  mode='loss')
        loss, log_vars = self.parse_losses(
            self.rename_losses(losses, 'src.'))
        self.backward(loss, optim_wrapper)
        return log_vars

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: Union[OptimWrapper, OptimWrapperDict]
                   ) -> Dict[str, Tensor]:
        """The training step of every UDA segmentor.

        Pre-process the batch (inside the student wrapper's
        ``optim_context``), run :meth:`forward_train` under the seeded
        per-iteration RNG (:meth:`step_rng`), finish every network update it
        left open (one optimizer step per network and iteration, whatever
        the number of backward passes) and count the iteration
        (``uda_iter``). The EMA teacher is updated after the step by
        ``EMATeacherHook``. Returns the log variables.
        """
        wrappers = check_optim_wrapper(optim_wrapper,
                                       self.optim_wrapper_keys,
                                       type(self).__name__)
        self._updates.reset()
        first = next(iter(wrappers.values()))
        with first.optim_context(self):
            data = self.preprocess(data)
        arg = first if len(wrappers) == 1 else wrappers
        with self.step_rng():
            log_vars = self.forward_train(data, arg)
        for ow in self._updates.pending:
            self.optimizer_step(ow)
        if self._updates.num_updates == 0:
            raise RuntimeError(f'{type(self).__name__}: no backward pass in '
                               'this training step')
        self.uda_iter += 1
        return log_vars
