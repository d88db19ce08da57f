"""Load a script of tools/benchmarks/ as a module (they are not a package)."""
import importlib.util
import os.path as osp

BENCH = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                 'benchmarks')


def load_benchmark(name: str):
    """``tools/benchmarks/{name}.py`` as a fresh module."""
    spec = importlib.util.spec_from_file_location(
        f'mmda_bench_{name}', osp.join(BENCH, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
