"""On-the-fly day->night translation of normalised segmentation batches with
a frozen CycleGAN generator (Scherer et al., 2021, §3.3: G_ST(x_s))."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule

from mmda.registry import MODELS
from mmda.utils.checkpoint import load_generator_weights
from .inference import build_frozen_generator, tiled_forward

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class Day2NightTranslator(BaseModule):
    """Frozen generator applied to batches normalised for segmentation.

    ``translator(imgs) -> imgs``: ``imgs`` (B, 3, H, W) RGB normalised with
    ``mean``/``std`` (the segmentation data preprocessor's), de-normalised to
    [-1, 1], translated (no grad, eval mode; tiled if ``tile_size`` is set),
    and normalised back the same way. Any H, W works (the generator pads to
    its stride).

    The generator is loaded from ``checkpoint`` at construction and reloaded
    by :meth:`init_weights`, so a parent model's weight init cannot overwrite
    it. Its weights are part of the parent's ``state_dict`` (frozen).

    Args:
        generator (dict): Generator config matching the checkpoint.
        checkpoint (str): CycleGAN checkpoint (or bare generator state dict).
        ema (bool): Use the EMA generator (the one meant for translation,
            §4.2). Default: True.
        direction (str): ``'a2b'`` (day -> night) or ``'b2a'``.
        mean (sequence): Normalisation mean (RGB, 0..255). ImageNet default.
        std (sequence): Normalisation std. ImageNet default.
        tile_size (int | tuple, optional): Tile for large images; ``None``
            translates whole images.
        tile_overlap (int): Tile overlap in pixels. Default: 32.
    """

    def __init__(self,
                 generator: dict,
                 checkpoint: str,
                 ema: bool = True,
                 direction: str = 'a2b',
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 tile_size: Optional[Union[int, Tuple[int, int]]] = None,
                 tile_overlap: int = 32,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.checkpoint = checkpoint
        self.ema = ema
        self.direction = direction
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.generator = build_frozen_generator(generator, checkpoint,
                                                direction, ema)
        self.register_buffer('mean', torch.tensor(mean,
                                                  dtype=torch.float32).view(
                                                      1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std,
                                                 dtype=torch.float32).view(
                                                     1, -1, 1, 1), False)
        # Loaded already: parent init_weights() must not re-initialise it.
        self._is_init = True

    def init_weights(self) -> None:
        """(Re)load the generator from the checkpoint."""
        load_generator_weights(self.generator, self.checkpoint,
                               self.direction, self.ema)
        self.generator.requires_grad_(False)
        self._is_init = True

    def train(self, mode: bool = True):
        """Always eval mode (frozen)."""
        super().train(False)
        return self

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        if imgs.dim() != 4 or imgs.shape[1] != self.mean.shape[1]:
            raise ValueError('Day2NightTranslator expects normalised images '
                             f'(B, {self.mean.shape[1]}, H, W), got '
                             f'{tuple(imgs.shape)}')
        x = (imgs * self.std + self.mean) / 127.5 - 1.0
        y = tiled_forward(self.generator, x, self.tile_size,
                          self.tile_overlap)
        y = (y.clamp(-1.0, 1.0) + 1.0) * 127.5
        return ((y - self.mean) / self.std).to(imgs.dtype)
