"""mmda: unsupervised domain adaptation for semantic segmentation on OpenMMLab 2.0."""
__version__ = '0.1.0'


def _register():
    # Importing mmda (e.g. through ``custom_imports`` in a config) registers
    # all its modules and allows mmengine checkpoints under torch>=2.6.
    from .utils import register_all_modules
    register_all_modules(init_default_scope=False)


_register()
