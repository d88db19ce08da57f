"""Mean-teacher EMA update after every optimizer step.

The model (a UDA segmentor such as mmda's ``BaseUDASegmentor``) owns three
things the hook uses:

* ``student``: the trained network (possibly DDP-wrapped under
  ``MMSeparateDistributedDataParallel``);
* ``teacher``: a network of the same architecture receiving no gradients;
* ``ema_step``: a long scalar buffer counting teacher updates. It is part of
  the model's state dict, so it is checkpointed and restored on resume and
  the warm start ``alpha_i = min(1 - 1/(i+1), alpha)`` (docs/methods.md#student-and-teacher) does not
  silently restart.
"""
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmda.models.uda.ema import ema_update
from mmda.models.utils import unwrap
from mmda.registry import HOOKS


@HOOKS.register_module()
class EMATeacherHook(Hook):
    """Update ``model.teacher`` as an EMA of ``model.student``.

    Args:
        alpha (float): EMA coefficient (DACS: 0.99; Scherer et al.: 0.999).
        interval (int): update every ``interval`` training iterations.
        average_buffers (bool): average float buffers (BatchNorm statistics)
            too; ``False`` copies them from the student.
        priority (str | int): hook priority. ``'NORMAL'`` runs after the
            optimizer step (done inside ``train_step``) and before
            checkpointing (``CheckpointHook`` is ``'VERY_LOW'``), so saved
            checkpoints hold the updated teacher and counter.
    """

    priority = 'NORMAL'

    def __init__(self,
                 alpha: float = 0.99,
                 interval: int = 1,
                 average_buffers: bool = True,
                 priority: Optional[str] = 'NORMAL'):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'EMATeacherHook: alpha must be in [0, 1], got '
                             f'{alpha}')
        if interval < 1:
            raise ValueError(f'EMATeacherHook: interval must be >= 1, got '
                             f'{interval}')
        self.alpha = float(alpha)
        self.interval = int(interval)
        self.average_buffers = bool(average_buffers)
        if priority is not None:
            self.priority = priority

    @staticmethod
    def _model(runner):
        return unwrap(runner.model)

    def _check_model(self, model) -> None:
        name = type(model).__name__
        if getattr(model, 'teacher', None) is None:
            raise AttributeError(
                f'EMATeacherHook: the model ({name}) has no teacher; build it '
                'with `teacher=True` (e.g. BaseUDASegmentor(teacher=True)) or '
                'remove EMATeacherHook from `custom_hooks`')
        if getattr(model, 'student', None) is None:
            raise AttributeError(
                f'EMATeacherHook: the model ({name}) has no `student`')
        step = getattr(model, 'ema_step', None)
        if not isinstance(step, torch.Tensor) or step.numel() != 1 \
                or step.is_floating_point():
            raise AttributeError(
                f'EMATeacherHook: the model ({name}) needs a long scalar '
                'buffer `ema_step` (registered by BaseUDASegmentor) so that '
                'the teacher update count is checkpointed')

    def before_train(self, runner) -> None:
        """Fail early with a clear message if the model cannot be used."""
        self._check_model(self._model(runner))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Update the teacher after the optimizer step of this iteration."""
        if not self.every_n_train_iters(runner, self.interval):
            return
        model = self._model(runner)
        self._check_model(model)
        step = int(model.ema_step)
        alpha = ema_update(
            model.teacher,
            model.student,
            self.alpha,
            step,
            average_buffers=self.average_buffers)
        model.ema_step.add_(1)
        runner.message_hub.update_scalar('train/ema_alpha', alpha)
