from .ema_teacher_hook import EMATeacherHook  # noqa: F401
from .ramp_hook import ConfidenceRampHook  # noqa: F401
from .norm_stats_guard_hook import NormStatsGuardHook  # noqa: F401
from .translation_vis_hook import TranslationVisualizationHook  # noqa: F401
from .pseudo_label_diagnostic_hook import PseudoLabelDiagnosticHook  # noqa: F401
from .save_labeled_split_hook import SaveLabeledSplitHook  # noqa: F401
