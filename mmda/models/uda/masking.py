# Copyright (c) mmda contributors. All rights reserved.
"""Masked Image Consistency (MIC, Hoyer et al., CVPR 2023, Sec. 3.2).

MIC adds one loss to a self-training UDA method (DACS, DAFormer): the target
image ``x_T`` is masked with a random patch mask ``M`` (patches of ``b x b``
pixels, each kept with probability ``1 - r``), the student predicts the
masked image, and the prediction is trained with cross-entropy against the
pseudo-label that the EMA teacher made from the *full* (unmasked) target
image, weighted by the confidence weight ``q_T`` of that pseudo-label:

    x_M = M * x_T                                 (eq. 4)
    L_M = q_T * CE(f_theta(x_M), p_T)            (eq. 6, p_T from x_T)
    loss = L_S + L_T + lambda_M * L_M            (eq. 7, lambda_M = 1)

Paper values: ``b = 64``, ``r = 0.7``, ``lambda_M = 1``, teacher EMA 0.999.
Where the paper is silent the authors' code is followed (MIC repository,
``seg/mmseg/models/utils/masking_transforms.py`` ``BlockMaskGenerator`` and
``seg/mmseg/models/uda/masking_consistency_module.py`` with the released
config ``seg/configs/mic/gtaHR2csHR_mic_hrda.py``):

* one independent mask per image (``per_image=True``); the mask is drawn on
  a ``round(H / b) x round(W / b)`` grid (a cell is kept when ``U(0, 1) >
  r``) and upsampled with nearest neighbours;
* masking multiplies the *normalised* image by the mask, so masked pixels
  are 0 after normalisation (the dataset mean colour);
* the masked image is colour-augmented first (their ``mask_mode=
  'separatetrgaug'``: the host method's colour jitter and blur with fresh
  random draws); ``color_aug=False`` is the paper's plain masking;
* the pseudo-label and its weight are the host method's (their
  ``mask_alpha='same'``, ``mask_pseudo_threshold='same'``), i.e. the
  per-batch confidence weight of DACS/DAFormer; ``pseudo_threshold=tau``
  is their ``mask_pseudo_threshold=tau``: MIC's own confidence weight
  ``q_T`` (eq. 6: the share of target pixels whose teacher confidence
  reaches tau, one value per batch) when the host weights its mix loss
  otherwise (e.g. the toy DACS' constant weight). Their separate MIC
  teacher with ``mask_alpha='same'`` is an EMA of the same student with
  the same rate, i.e. the host's teacher, so the host teacher's
  probabilities are used.

Random draws come from the caller's ``torch.Generator`` so that an exact
resume replays the same masks (see ``BaseUDASegmentor.iter_generator``).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmda.models.uda.pseudo_label import pseudo_label_weight
from mmda.registry import MODELS


@MODELS.register_module()
class BlockMasking:
    """Random patch masks (MIC's ``BlockMaskGenerator``).

    Args:
        mask_ratio (float): probability ``r`` that a patch is masked
            (0.7). Must be in [0, 1).
        block_size (int): patch size ``b`` in pixels (64).
        per_image (bool): one mask per image (True, the authors' code) or
            one mask shared by the whole batch (False).
    """

    def __init__(self,
                 mask_ratio: float = 0.7,
                 block_size: int = 64,
                 per_image: bool = True) -> None:
        if not 0.0 <= float(mask_ratio) < 1.0:
            raise ValueError('BlockMasking: mask_ratio must be in [0, 1), '
                             f'got {mask_ratio}')
        if int(block_size) < 1 or int(block_size) != block_size:
            raise ValueError('BlockMasking: block_size must be a positive '
                             f'int, got {block_size!r}')
        self.mask_ratio = float(mask_ratio)
        self.block_size = int(block_size)
        self.per_image = bool(per_image)

    def grid_shape(self, height: int, width: int) -> Tuple[int, int]:
        """Cells of the mask grid: ``round(H / b) x round(W / b)``, at
        least 1 each."""
        return (max(1, round(height / self.block_size)),
                max(1, round(width / self.block_size)))

    @torch.no_grad()
    def generate_masks(self,
                       batch_size: int,
                       size: Tuple[int, int],
                       generator: Optional[torch.Generator] = None,
                       device=None) -> Tensor:
        """(B, 1, H, W) float mask, 1 = visible, 0 = masked."""
        H, W = int(size[0]), int(size[1])
        gh, gw = self.grid_shape(H, W)
        n = int(batch_size) if self.per_image else 1
        dev = generator.device if generator is not None else 'cpu'
        u = torch.rand((n, 1, gh, gw), generator=generator, device=dev)
        grid = (u > self.mask_ratio).float()
        if not self.per_image:
            grid = grid.expand(int(batch_size), -1, -1, -1)
        mask = F.interpolate(grid, size=(H, W), mode='nearest')
        if device is not None:
            mask = mask.to(device)
        return mask

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mask_ratio={self.mask_ratio}, '
                f'block_size={self.block_size}, per_image={self.per_image})')


@MODELS.register_module()
class MaskedImageConsistency:
    """The MIC loss of a DACS-style segmentor (``mic=dict(...)``).

    Args:
        mask_ratio (float): ``r`` (0.7, MIC Sec. 4.4 / Table 5).
        block_size (int): ``b`` in pixels (64, MIC Sec. 4.4 / Table 5).
        per_image (bool): a different mask per image (True, authors' code).
        loss_weight (float): ``lambda_M`` (1, MIC eq. 7).
        color_aug (bool): colour-augment the target image before masking
            with the host's strong augmentation (True, the authors' released
            ``'separatetrgaug'``); False is the paper's eq. 4 alone.
        pseudo_threshold (float, optional): ``None`` (default): the MIC
            loss takes the host's pseudo-label weight (the authors'
            ``mask_pseudo_threshold='same'``). A float ``tau``: MIC's own
            per-batch confidence weight ``q_T`` of eq. 6, the share of the
            batch's target pixels whose teacher confidence is ``>= tau``
            (the authors' ``mask_pseudo_threshold=tau``), whatever the
            host's weight.
    """

    def __init__(self,
                 mask_ratio: float = 0.7,
                 block_size: int = 64,
                 per_image: bool = True,
                 loss_weight: float = 1.0,
                 color_aug: bool = True,
                 pseudo_threshold: Optional[float] = None) -> None:
        self.masking = BlockMasking(mask_ratio, block_size, per_image)
        if float(loss_weight) < 0:
            raise ValueError('MaskedImageConsistency: loss_weight must be '
                             f'>= 0, got {loss_weight}')
        self.loss_weight = float(loss_weight)
        self.color_aug = bool(color_aug)
        if pseudo_threshold is not None and \
                not 0.0 <= float(pseudo_threshold) <= 1.0:
            raise ValueError('MaskedImageConsistency: pseudo_threshold must '
                             f'be None or in [0, 1], got {pseudo_threshold}')
        self.pseudo_threshold = None if pseudo_threshold is None \
            else float(pseudo_threshold)

    def pseudo_weight(self, probs: Tensor, host_weight: Tensor) -> Tensor:
        """The weight of the MIC loss: ``host_weight`` (the host's weight
        of the full-image pseudo-label) or, with ``pseudo_threshold``,
        MIC's own per-batch confidence weight from the teacher's
        ``probs`` (B, C, H, W), shaped like ``host_weight``."""
        if self.pseudo_threshold is None:
            return host_weight
        _, weight = pseudo_label_weight(
            probs, mode='threshold_uniform', threshold=self.pseudo_threshold,
            reduce='batch')
        return weight.reshape(host_weight.shape).to(host_weight.dtype)

    def masked_images(self,
                      tgt_img: Tensor,
                      strong_aug=None,
                      generator: Optional[torch.Generator] = None
                      ) -> Tuple[Tensor, Tensor]:
        """Colour-augment (optionally) and mask a normalised target batch.

        Returns:
            tuple[Tensor, Tensor]: the masked images and the (B, 1, H, W)
            mask (1 = visible).
        """
        if tgt_img.dim() != 4:
            raise ValueError('MaskedImageConsistency: images must be '
                             f'(B, C, H, W), got {tuple(tgt_img.shape)}')
        img = tgt_img
        if self.color_aug:
            if strong_aug is None:
                raise ValueError(
                    'MaskedImageConsistency: color_aug=True uses the '
                    "segmentor's strong_aug, which is None; set "
                    'mic.color_aug=False or configure strong_aug')
            params = strong_aug.sample_params(
                tgt_img.shape[0], generator=generator)
            img, _ = strong_aug(tgt_img, params)
        mask = self.masking.generate_masks(
            tgt_img.shape[0], tgt_img.shape[-2:], generator=generator,
            device=tgt_img.device).to(tgt_img.dtype)
        return img * mask, mask

    def loss(self, logits: Tensor, pseudo_label: Tensor, weight: Tensor,
             ignore_index: int = 255) -> Tensor:
        """``lambda_M`` times the mean over pixels of ``q_T * CE`` of the
        student's logits on the masked image (upsampled to the label size)
        against the full-image pseudo-label (the host's
        ``pixel_weighted_cross_entropy``, the authors' ``seg_weight``)."""
        from mmda.models.losses import pixel_weighted_cross_entropy
        return self.loss_weight * pixel_weighted_cross_entropy(
            logits, pseudo_label, weight, ignore_index)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.masking!r}, loss_weight='
                f'{self.loss_weight}, color_aug={self.color_aug}, '
                f'pseudo_threshold={self.pseudo_threshold})')
