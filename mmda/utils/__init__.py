from .checkpoint import (allow_mmengine_checkpoint_globals,
                         load_generator_weights)
from .set_env import register_all_modules

__all__ = [
    'register_all_modules', 'allow_mmengine_checkpoint_globals',
    'load_generator_weights'
]
