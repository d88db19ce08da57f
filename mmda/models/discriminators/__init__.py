from .output_space import (OutputSpaceDiscriminator,
                           output_space_adversarial_loss)
from .patchgan import PatchDiscriminator
from .semantic import (CSADiscriminator, FCSADiscriminator,
                       semantic_adversarial_loss)

__all__ = [
    'OutputSpaceDiscriminator', 'output_space_adversarial_loss',
    'PatchDiscriminator', 'CSADiscriminator', 'FCSADiscriminator',
    'semantic_adversarial_loss'
]
