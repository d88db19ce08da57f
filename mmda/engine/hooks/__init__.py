from .ema_teacher_hook import EMATeacherHook
from .nonfinite_guard_hook import NonFiniteGuardHook
from .norm_stats_guard_hook import NormStatsGuardHook
from .pseudo_label_diagnostic_hook import PseudoLabelDiagnosticHook
from .ramp_hook import ParamRampHook, Ramp
from .sanity_check_hook import SanityCheckHook
from .save_labeled_split_hook import SaveLabeledSplitHook
from .translation_vis_hook import TranslationVisualizationHook
from .uda_vis_hook import UDAVisualizationHook

__all__ = [
    'EMATeacherHook', 'NonFiniteGuardHook', 'NormStatsGuardHook',
    'PseudoLabelDiagnosticHook', 'ParamRampHook', 'Ramp', 'SanityCheckHook', 'SaveLabeledSplitHook',
    'TranslationVisualizationHook', 'UDAVisualizationHook'
]
