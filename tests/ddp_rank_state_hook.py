"""Test-only hook: every rank writes its model and optimizer state at the end
of training, so tests can check that DDP kept the ranks identical.

Imported through ``custom_imports`` by tests/test_ddp_methods.py (the tests
folder is put on PYTHONPATH of the subprocesses).
"""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmda.registry import HOOKS


@HOOKS.register_module()
class RankStateHook(Hook):
    """Save ``rank{r}_state.pth`` (state_dict, optimizer state, last log
    values) into the work dir after training."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        # the loss values this rank computed (not all-reduced)
        if outputs:
            self._last_outputs = {
                k: float(v) for k, v in outputs.items()
                if torch.is_tensor(v) and v.numel() == 1}

    def after_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        state = dict(
            state_dict={k: v.detach().cpu().clone()
                        for k, v in model.state_dict().items()},
            optimizer=runner.optim_wrapper.state_dict(),
            outputs=getattr(self, '_last_outputs', {}),
            wrapper=type(runner.model).__name__,
            iter=runner.iter)
        torch.save(state, osp.join(runner.work_dir,
                                   f'rank{get_rank()}_state.pth'))
