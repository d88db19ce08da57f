from mmengine.config import Config
from mmengine.runner import Runner

from mmda.registry import RUNNERS


def build_runner(cfg: Config) -> Runner:
    """Build mmengine's Runner, or the one named by ``cfg.runner_type``."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
