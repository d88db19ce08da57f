"""``Day2Night`` data transform: translate a loaded image with a frozen
CycleGAN generator inside the data pipeline (per image, in the dataloader
workers). For GPU training prefer the batched ``Day2NightTranslator`` module
(mmda/models/translators/day2night.py) or an offline copy written by
``tools/translate.py``.

The transform runs that same ``Day2NightTranslator`` (built through the
``MODELS`` registry, so the data layer imports no model code) on raw 0..255
RGB values (``mean=0``, ``std=1``): its ``x / 127.5 - 1`` and
``(y + 1) * 127.5`` are then exactly the generator's [-1, 1] range."""
from typing import Optional, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmda.registry import MODELS, TRANSFORMS


@TRANSFORMS.register_module()
class Day2Night(BaseTransform):
    """Replace ``results['img']`` (BGR uint8 HWC, as loaded by mmcv) by its
    translation with a frozen generator, with probability ``prob``.

    The generator is built lazily on first use (once per worker process)
    and runs on CPU unless ``device`` says otherwise.

    Args:
        generator (dict): Generator config matching the checkpoint.
        checkpoint (str): CycleGAN checkpoint (or bare generator state dict).
        ema (bool): Use the EMA generator. Default: True.
        direction (str): ``'a2b'`` (day -> night) or ``'b2a'``.
        prob (float): Probability of translating. Default: 1.0.
        tile_size (int | tuple, optional): Tiled inference above this size.
        tile_overlap (int): Tile overlap. Default: 32.
        device (str): Device for the generator. Default: 'cpu'.
        num_threads (int, optional): torch threads inside the transform.

    Sets ``results['day2night'] = True/False``.
    """

    def __init__(self,
                 generator: dict,
                 checkpoint: str,
                 ema: bool = True,
                 direction: str = 'a2b',
                 prob: float = 1.0,
                 tile_size: Optional[Union[int, Tuple[int, int]]] = None,
                 tile_overlap: int = 32,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'Day2Night: prob must be in [0, 1], got {prob}')
        self.generator_cfg = generator
        self.checkpoint = checkpoint
        self.ema = ema
        self.direction = direction
        self.prob = prob
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.device = device
        self.num_threads = num_threads
        self._net = None
        # Fail at config time, not in a worker, when the checkpoint is wrong.
        self._build()

    def _build(self):
        if self._net is None:
            self._net = MODELS.build(dict(
                type='Day2NightTranslator', generator=self.generator_cfg,
                checkpoint=self.checkpoint, ema=self.ema,
                direction=self.direction, mean=(0.0, 0.0, 0.0),
                std=(1.0, 1.0, 1.0), tile_size=self.tile_size,
                tile_overlap=self.tile_overlap)).to(self.device)
        return self._net

    def __getstate__(self):  # do not pickle the network into workers
        state = self.__dict__.copy()
        state['_net'] = None
        return state

    def transform(self, results: dict) -> dict:
        if self.prob < 1.0 and np.random.rand() >= self.prob:
            results['day2night'] = False
            return results
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'Day2Night expects a 3-channel HWC image, got '
                             f'shape {img.shape} ({results.get("img_path")})')
        net = self._build()
        threads = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        try:
            x = torch.from_numpy(np.ascontiguousarray(img[..., ::-1]))
            with torch.no_grad():
                y = net(x.permute(2, 0, 1)[None].float().to(self.device))
        finally:
            torch.set_num_threads(threads)
        y = y[0].round().byte()
        results['img'] = np.ascontiguousarray(
            y.permute(1, 2, 0).cpu().numpy()[..., ::-1])
        results['day2night'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(checkpoint={self.checkpoint!r}, '
                f'direction={self.direction!r}, ema={self.ema}, '
                f'prob={self.prob}, tile_size={self.tile_size})')
