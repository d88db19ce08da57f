from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .discriminators import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .translators import *  # noqa: F401,F403
from .uda import *  # noqa: F401,F403
from . import (backbones, data_preprocessors, decode_heads, discriminators,
               losses, segmentors, translators, uda, utils)

__all__ = (backbones.__all__ + data_preprocessors.__all__ +
           decode_heads.__all__ + discriminators.__all__ + losses.__all__ +
           segmentors.__all__ + translators.__all__ + uda.__all__)
