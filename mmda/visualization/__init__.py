from .translation import translation_grid
from .uda_panel import make_uda_panel

__all__ = ['translation_grid', 'make_uda_panel']
