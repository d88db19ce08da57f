"""Data preprocessor for unpaired image batches (CycleGAN)."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mmda.registry import MODELS


@MODELS.register_module()
class UnpairedDataPreprocessor(BaseDataPreprocessor):
    """Stack, move, channel-flip and normalise ``inputs = dict(img_a=[...],
    img_b=[...])`` (uint8 CHW tensors from :class:`UnpairedImageDataset`).

    Default normalisation maps 0..255 to [-1, 1] (CycleGAN). BGR images as
    loaded by mmcv are flipped to RGB.

    Args:
        mean (sequence): Per-channel mean (after the flip). Default 127.5.
        std (sequence): Per-channel std. Default 127.5.
        bgr_to_rgb (bool): Flip channels. Default: True.
        keys (sequence): Input keys to process. Default: ('img_a', 'img_b').
    """

    def __init__(self,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 bgr_to_rgb: bool = True,
                 keys: Sequence[str] = ('img_a', 'img_b'),
                 non_blocking: Optional[bool] = False):
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.keys = tuple(keys)

    def _stack(self, key: str, imgs) -> torch.Tensor:
        if isinstance(imgs, torch.Tensor):
            batch = imgs if imgs.dim() == 4 else imgs.unsqueeze(0)
        else:
            shapes = {tuple(i.shape) for i in imgs}
            if len(shapes) != 1:
                raise ValueError(
                    f'UnpairedDataPreprocessor: images of inputs[{key!r}] '
                    f'differ in shape {sorted(shapes)}; crop or resize them '
                    'to one size in the pipeline')
            batch = torch.stack(list(imgs))
        if batch.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f'UnpairedDataPreprocessor: inputs[{key!r}] has '
                f'{batch.shape[1]} channels, expected {self.mean.shape[0]}')
        batch = batch.float()
        if self.bgr_to_rgb:
            batch = batch.flip(1)
        return (batch - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if not isinstance(inputs, dict):
            raise TypeError('UnpairedDataPreprocessor expects data["inputs"] '
                            f'to be a dict with keys {self.keys}, got '
                            f'{type(inputs).__name__}')
        missing = [k for k in self.keys if k not in inputs]
        if missing:
            raise KeyError(f'UnpairedDataPreprocessor: data["inputs"] lacks '
                           f'{missing}; got keys {sorted(inputs)}')
        out = {k: self._stack(k, inputs[k]) for k in self.keys}
        return dict(inputs=out, data_samples=data.get('data_samples'))

    def denormalize(self, imgs: torch.Tensor) -> torch.Tensor:
        """Back to 0..255 in the *output* channel order (RGB by default)."""
        return imgs * self.std + self.mean
