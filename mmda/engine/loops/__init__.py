from .self_training_loop import SelfTrainingLoop
from .sie_state import SelfTrainingStateHook, round_portions

__all__ = ['SelfTrainingLoop', 'SelfTrainingStateHook', 'round_portions']
