import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


@pytest.fixture(scope='session', autouse=True)
def _isolated_toy_cache(tmp_path_factory):
    """Generate the embedded toy benchmark into a per-session folder.

    Tests must not depend on (or write to) the user's ~/.cache; the generator
    takes seconds. Subprocesses inherit the variable.
    """
    if 'MMDA_DATA_ROOT' not in os.environ or os.environ.get('MMDA_TEST_KEEP_CACHE') != '1':
        os.environ['MMDA_DATA_ROOT'] = str(tmp_path_factory.mktemp('mmda_data'))
    import torch
    torch.set_num_threads(1)  # 2 threads on 2 shared cores is much slower
    yield


@pytest.fixture(scope='session', autouse=True)
def _register():
    from mmda.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture(autouse=True)
def _fresh_visualizers():
    """Forget the visualizers earlier tests created in this process.

    mmengine keeps them by name (``Visualizer.get_instance``); a Runner built
    later with the same name reuses the old one, and its scalars go to the
    earlier test's folder.
    """
    yield
    from mmengine.visualization import Visualizer

    def _all(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from _all(sub)
    for cls in _all(Visualizer):
        cls._instance_dict.clear()
