from .multi_domain_val_loop import MultiDomainTestLoop, MultiDomainValLoop
from .self_training_loop import SelfTrainingLoop
from .sie_state import SelfTrainingStateHook, round_portions

__all__ = [
    'MultiDomainValLoop', 'MultiDomainTestLoop', 'SelfTrainingLoop',
    'SelfTrainingStateHook', 'round_portions'
]
