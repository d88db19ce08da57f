"""Save panels of UDA training steps through mmengine's Visualizer."""
from typing import Optional

from mmengine.hooks import Hook

from mmda.models.utils import unwrap
from mmda.registry import HOOKS
from mmda.visualization.uda_panel import make_uda_panel


@HOOKS.register_module()
class UDAVisualizationHook(Hook):
    """Every ``interval`` iterations, draw source image/label, target image,
    teacher pseudo-label, mix mask, mixed (augmented) image, mixed label and
    mixed weight of the training batch.

    Before the chosen iterations the hook sets ``model.vis_requested``; the
    segmentor (:class:`mmda.models.segmentors.base_uda.BaseUDASegmentor` subclasses) then stashes
    detached CPU copies of those tensors in ``model.vis_data`` (nothing is
    copied on other iterations). After the iteration the panel goes to
    ``runner.visualizer.add_image`` -- PNG files under
    ``{work_dir}/{timestamp}/vis_data/vis_image/`` with the default
    ``LocalVisBackend``, TensorBoard images when ``TensorboardVisBackend``
    is in ``vis_backends``.

    Args:
        interval (int): draw every ``interval`` training iterations.
        max_samples (int): rows (batch elements) per panel.
        name (str): image name (file prefix).
        enabled (bool): switch the hook off without removing it.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 max_samples: int = 2,
                 name: str = 'uda_train',
                 enabled: bool = True) -> None:
        if interval < 1:
            raise ValueError(f'UDAVisualizationHook: interval must be >= 1, '
                             f'got {interval}')
        self.interval = int(interval)
        self.max_samples = int(max_samples)
        self.name = name
        self.enabled = enabled

    @staticmethod
    def _model(runner):
        model = unwrap(runner.model)
        if not hasattr(model, 'vis_requested'):
            raise TypeError(
                'UDAVisualizationHook needs a model derived from '
                f'BaseUDASegmentor (with `vis_requested`), got '
                f'{type(model).__name__}')
        return model

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if not self.enabled:
            return
        model = self._model(runner)
        model.vis_requested = self.every_n_train_iters(runner, self.interval)
        model.vis_data = None

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not self.enabled:
            return
        model = self._model(runner)
        data = model.vis_data
        model.vis_requested = False
        model.vis_data = None
        if not data:
            return
        dp = model.data_preprocessor
        mean = dp.mean.flatten().tolist() if hasattr(dp, 'mean') \
            else [0.0, 0.0, 0.0]
        std = dp.std.flatten().tolist() if hasattr(dp, 'std') \
            else [1.0, 1.0, 1.0]
        meta = getattr(runner.visualizer, 'dataset_meta', None) or {}
        palette = meta.get('palette', None)
        if palette is None:
            dataset = getattr(runner.train_dataloader, 'dataset', None)
            palette = getattr(dataset, 'metainfo', {}).get('palette', None)
        panel = make_uda_panel(data, mean, std, palette=palette,
                               max_samples=self.max_samples)
        runner.visualizer.add_image(self.name, panel, step=runner.iter + 1)
