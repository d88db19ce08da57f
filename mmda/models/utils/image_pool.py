"""History of generated images for the discriminators (Shrivastava et al.,
2017; CycleGAN ``ImagePool``, pool size 50)."""
from typing import List, Optional

import torch


class ImagePool:
    """Buffer of previously generated images.

    For each image of a batch: while the pool holds fewer than ``pool_size``
    images, the image is stored and returned unchanged; afterwards, with
    probability 0.5 a uniformly chosen stored image is returned and replaced
    by the new one, otherwise the new image is returned. ``pool_size=0``
    disables the pool.

    The pool lives in memory only (not in checkpoints): after a resume it
    refills within ``pool_size`` images.

    Args:
        pool_size (int): Capacity. Default: 50 (CycleGAN).
        generator (torch.Generator, optional): CPU random generator for
            reproducible draws; the global RNG is used if ``None``.
    """

    def __init__(self, pool_size: int = 50,
                 generator: Optional[torch.Generator] = None):
        if pool_size < 0:
            raise ValueError(f'ImagePool: pool_size must be >= 0, got '
                             f'{pool_size}')
        self.pool_size = int(pool_size)
        self.generator = generator
        self.images: List[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape mixing new and stored images."""
        if self.pool_size == 0:
            return images
        images = images.detach()
        n = images.shape[0]
        # One uniform and one index per image, drawn up front (CPU).
        coins = torch.rand(n, generator=self.generator)
        picks = torch.randint(self.pool_size, (n, ), generator=self.generator)
        out = []
        for i in range(n):  # loop over the (small) batch only
            img = images[i]
            if len(self.images) < self.pool_size:
                self.images.append(img.clone())
                out.append(img)
            elif coins[i] < 0.5:
                j = int(picks[i])
                out.append(self.images[j].to(img.device))
                self.images[j] = img.clone()
            else:
                out.append(img)
        return torch.stack(out)
