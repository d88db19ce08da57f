"""mmengine's optimizer constructor without one warning per frozen tensor.

With a ``paramwise_cfg`` (e.g. the 10x classifier learning rate),
``DefaultOptimWrapperConstructor.add_params`` logs a WARNING for every
parameter with ``requires_grad=False``: a UDA model with an EMA teacher
(frozen by design) writes hundreds of "teacher.… is skipped since its
requires_grad=False" lines, half of a DACS log. This subclass, registered in
mmda's scope under the same name (so every mmda config uses it), drops those
records and logs one INFO line with their count and top-level modules. The
parameters are skipped exactly as before.
"""
import logging
from collections import Counter

from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from mmda.registry import OPTIM_WRAPPER_CONSTRUCTORS

_MARK = ' is skipped since its requires_grad=False'


class _FrozenParamFilter(logging.Filter):

    def __init__(self):
        super().__init__()
        self.names = []

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if msg.endswith(_MARK):
            self.names.append(msg[:-len(_MARK)])
            return False
        return True


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(
    name='DefaultOptimWrapperConstructor', force=True)
class QuietFrozenOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that reports frozen parameters in
    one line instead of one warning each."""

    def add_params(self, params, module, prefix: str = '', **kwargs) -> None:
        if prefix:  # recursive call: the top-level call filters
            return super().add_params(params, module, prefix, **kwargs)
        logger = MMLogger.get_current_instance()
        filt = _FrozenParamFilter()
        logger.addFilter(filt)
        try:
            super().add_params(params, module, prefix, **kwargs)
        finally:
            logger.removeFilter(filt)
        if filt.names:
            tops = Counter(n.lstrip('.').split('.')[0] for n in filt.names)
            print_log(
                f'{len(filt.names)} parameters with requires_grad=False are '
                'not optimised (per top-level module: '
                f'{dict(tops)}; e.g. EMA teachers, frozen BN affine)',
                logger='current', level=logging.INFO)
