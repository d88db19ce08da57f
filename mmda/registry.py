"""mmda registries: children of MMSegmentation's, scope ``'mmda'``.

With ``default_scope='mmda'`` a config finds mmda's modules first and then
falls back to mmseg's and mmengine's (the parents), so ``EncoderDecoder`` or
``IoUMetric`` work in mmda configs unchanged.
"""
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMSEG_RUNNERS, locations=['mmda.engine'])
LOOPS = Registry('loop', parent=MMSEG_LOOPS, locations=['mmda.engine'])
HOOKS = Registry('hook', parent=MMSEG_HOOKS, locations=['mmda.engine'])
DATASETS = Registry('dataset', parent=MMSEG_DATASETS, locations=['mmda.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMSEG_DATA_SAMPLERS, locations=['mmda.datasets'])
TRANSFORMS = Registry('transform', parent=MMSEG_TRANSFORMS, locations=['mmda.datasets.transforms'])
MODELS = Registry('model', parent=MMSEG_MODELS, locations=['mmda.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMSEG_MODEL_WRAPPERS, locations=['mmda.models'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMSEG_WEIGHT_INITIALIZERS, locations=['mmda.models'])
OPTIMIZERS = Registry('optimizer', parent=MMSEG_OPTIMIZERS, locations=['mmda.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMSEG_OPTIM_WRAPPERS, locations=['mmda.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor', parent=MMSEG_OPTIM_WRAPPER_CONSTRUCTORS, locations=['mmda.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMSEG_PARAM_SCHEDULERS, locations=['mmda.engine'])
METRICS = Registry('metric', parent=MMSEG_METRICS, locations=['mmda.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMSEG_EVALUATOR, locations=['mmda.evaluation'])
TASK_UTILS = Registry('task util', parent=MMSEG_TASK_UTILS, locations=['mmda.models'])
VISUALIZERS = Registry('visualizer', parent=MMSEG_VISUALIZERS, locations=['mmda.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMSEG_VISBACKENDS, locations=['mmda.visualization'])
LOG_PROCESSORS = Registry('log_processor', parent=MMSEG_LOG_PROCESSORS, locations=['mmda.visualization'])
