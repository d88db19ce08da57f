from .hooks import *  # noqa: F401,F403
from .loops import *  # noqa: F401,F403
from .optim_wrappers import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from . import hooks, loops, optim_wrappers, optimizers

__all__ = (hooks.__all__ + loops.__all__ + optim_wrappers.__all__ +
           optimizers.__all__)
