import importlib
import pkgutil


def import_submodules(package_name: str, package_path) -> None:
    """Import every module below a package so its classes get registered.

    Sub-packages of mmda register their components by importing all modules
    they contain; adding a file is enough to make its classes available in
    the registries (no ``__init__`` bookkeeping).
    """
    for info in pkgutil.walk_packages(package_path, prefix=package_name + '.'):
        importlib.import_module(info.name)
