"""The scripts of tools/benchmarks/ as modules.

``tools.benchmarks`` is importable from the repository root (a namespace
package; tests/conftest.py puts the root on ``sys.path``), so the scripts
and their shared ``tools.benchmarks.harness`` are imported like any module.
"""
import importlib
import os.path as osp

BENCH = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                 'benchmarks')


def load_benchmark(name: str):
    """``tools/benchmarks/{name}.py`` as ``tools.benchmarks.{name}``."""
    return importlib.import_module(f'tools.benchmarks.{name}')
