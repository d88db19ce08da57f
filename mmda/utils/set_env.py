import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mmseg's and mmda's modules into their registries.

    Args:
        init_default_scope (bool): set the default scope to ``'mmda'`` so that
            configs without ``default_scope`` still find mmda's modules (and,
            through the parent registries, mmseg's and mmengine's).
    """
    from mmseg.utils import register_all_modules as mmseg_register_all_modules
    mmseg_register_all_modules(init_default_scope=False)
    # mmseg's own helper skips its visualization package; child registries
    # do not trigger their parents' lazy imports, so import it here.
    import mmseg.visualization  # noqa: F401

    import mmda.datasets  # noqa: F401
    import mmda.engine  # noqa: F401
    import mmda.evaluation  # noqa: F401
    import mmda.models  # noqa: F401
    import mmda.visualization  # noqa: F401
    from .atomic_io import install_atomic_local_backend
    from .checkpoint import allow_mmengine_checkpoint_globals
    allow_mmengine_checkpoint_globals()
    install_atomic_local_backend()

    if init_default_scope:
        never_created = DefaultScope.get_current_instance() is None \
            or not DefaultScope.check_instance_created('mmda')
        if never_created:
            DefaultScope.get_instance('mmda', scope_name='mmda')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'mmda':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "mmda", '
                          '`register_all_modules` will force the current '
                          'default scope to be "mmda". If this is not '
                          'expected, please set `init_default_scope=False`.')
            new_instance_name = f'mmda-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='mmda')
