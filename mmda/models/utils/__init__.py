"""Module utilities shared by the models: unwrapping model wrappers, freezing
parameters, checking optim wrappers and the several-passes-per-update
bookkeeping of a training step."""
from .modules import frozen, set_requires_grad, unwrap
from .optim import UpdateTracker, check_optim_wrapper

__all__ = ['unwrap', 'frozen', 'set_requires_grad', 'check_optim_wrapper',
           'UpdateTracker']
