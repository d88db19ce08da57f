# Copyright (c) mmda contributors. All rights reserved.
"""DAFormer (Hoyer et al., CVPR 2022): DACS self-training plus the
thing-class ImageNet feature distance.

DAFormer's training strategy (Sec. 3.3) on top of the DACS step of
:class:`mmda.models.segmentors.dacs.DACS` (ClassMix, per-batch confidence weight with
tau = 0.968, colour jitter + blur, EMA teacher):

* rare-class sampling of the source (Sec. 3.3, eq. 6, T = 0.01) is a
  dataset option: ``UDADataset(rare_class_sampling=dict(class_temp=0.01,
  ...))`` (``mmda/datasets/uda_dataset.py``);
* thing-class ImageNet feature distance (Sec. 3.3, eq. 7-8): this class; a
  frozen copy of the ImageNet-initialised encoder (:attr:`imnet_backbone`)
  gives reference features of the source images, and
  ``lambda_FD * masked L2 distance`` of the student's last-stage features is
  added to the source loss (``src.loss_imnet_feat_dist``; see
  :mod:`mmda.models.losses.feature_distance`);
* learning-rate warm-up (Sec. 3.3) and EMA 0.999 are config choices
  (``configs/daformer/*.py``); MIC is DACS's ``mic=dict(...)`` option.

The student's features come from the source forward pass itself: a forward
hook on the student backbone keeps its outputs (with their graph) during
``source_losses``, so the FD loss costs no extra student forward pass and
is back-propagated together with the source cross-entropy (the authors
back-propagate the two one after the other with ``retain_graph``; the summed
gradient is the same).
"""
import copy
import os.path as osp
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmda.registry import MODELS
from ..losses.feature_distance import (CITYSCAPES_THING_CLASSES,
                                       masked_feature_distance,
                                       thing_class_mask)
from .dacs import DACS


@MODELS.register_module()
class DAFormer(DACS):
    """DACS with DAFormer's thing-class ImageNet feature distance.

    Args:
        feature_dist (dict, optional): ``None`` disables the FD (then this
            is DACS). Keys:

            - ``loss_weight`` (float): ``lambda_FD`` (0.005, Sec. 4.1).
            - ``thing_classes`` (list[int] | None): classes whose positions
              are regularised (Cityscapes train ids 6, 7, 11-18); ``None``
              regularises every position (Table 5 "ImageNet FD").
            - ``min_ratio`` (float): ``r`` of the label downscaling (0.75).
            - ``feature_index`` (int): encoder output used (-1, the
              bottleneck features of the last stage).
        **kwargs: the arguments of :class:`DACS` (``mic=dict(...)``
            included).

    The frozen ImageNet encoder is the student backbone as it is after
    :meth:`init_weights` (i.e. loaded from the backbone's ``init_cfg``
    checkpoint); it is saved in checkpoints, so a resumed run keeps it.
    """

    def __init__(self,
                 *args,
                 feature_dist: Optional[dict] = dict(
                     loss_weight=0.005,
                     thing_classes=CITYSCAPES_THING_CLASSES,
                     min_ratio=0.75,
                     feature_index=-1),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fd_cfg = None
        self.imnet_backbone = None
        if feature_dist is not None:
            cfg = dict(loss_weight=0.005,
                       thing_classes=CITYSCAPES_THING_CLASSES,
                       min_ratio=0.75, feature_index=-1)
            unknown = set(feature_dist) - set(cfg)
            if unknown:
                raise KeyError(f'DAFormer.feature_dist: unknown keys '
                               f'{sorted(unknown)}; expected {sorted(cfg)}')
            cfg.update(feature_dist)
            if float(cfg['loss_weight']) < 0:
                raise ValueError('DAFormer.feature_dist.loss_weight must be '
                                 f">= 0, got {cfg['loss_weight']}")
            if cfg['thing_classes'] is not None:
                bad = [c for c in cfg['thing_classes']
                       if not 0 <= int(c) < self.num_classes]
                if bad:
                    raise ValueError(
                        'DAFormer.feature_dist.thing_classes must be class '
                        f'indices in [0, {self.num_classes}), got {bad}')
                cfg['thing_classes'] = tuple(
                    int(c) for c in cfg['thing_classes'])
            if not 0.0 <= float(cfg['min_ratio']) <= 1.0:
                raise ValueError('DAFormer.feature_dist.min_ratio must be in'
                                 f" [0, 1], got {cfg['min_ratio']}")
            self.fd_cfg = cfg
            self.imnet_backbone = copy.deepcopy(self.student_module.backbone)
            self.imnet_backbone.requires_grad_(False)
            self.imnet_backbone.eval()

    def check_pretrained(self) -> None:
        """Fail with the path and the conversion command when the encoder's
        local ``Pretrained`` checkpoint is missing (nothing is downloaded)."""
        init_cfg = getattr(self.student_module.backbone, 'init_cfg', None)
        cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        for c in cfgs:
            if not isinstance(c, dict) or c.get('type') != 'Pretrained':
                continue
            ckpt = c.get('checkpoint')
            if isinstance(ckpt, str) and '://' not in ckpt and \
                    not osp.isfile(ckpt):
                raise FileNotFoundError(
                    f'DAFormer: the ImageNet encoder checkpoint {ckpt!r} '
                    '(model.segmentor.backbone.init_cfg.checkpoint) does not '
                    'exist. Convert SegFormer\'s ImageNet MiT weights with '
                    "mmseg's converter, e.g. `python <mmsegmentation>/tools/"
                    'model_converters/mit2mmseg.py pretrained/mit_b5.pth '
                    f'{ckpt}` (docs/daformer_mic.md), or set init_cfg=None '
                    'to train from scratch.')

    def init_weights(self) -> None:
        """Initialise the student (ImageNet weights from its backbone's
        ``init_cfg``), then copy its backbone into the frozen encoder."""
        self.check_pretrained()
        super().init_weights()
        if self.imnet_backbone is not None:
            with torch.no_grad():
                self.imnet_backbone.load_state_dict(
                    self.student_module.backbone.state_dict())

    def train(self, mode: bool = True) -> 'DAFormer':
        super().train(mode)
        if self.imnet_backbone is not None:
            self.imnet_backbone.eval()  # the authors' ``imnet_model.eval()``
        return self

    # ------------------------------------------------------------------
    def feature_distance(self, feats: Sequence[Tensor], img: Tensor,
                         label: Tensor) -> Tuple[Tensor, Tensor]:
        """``lambda_FD`` times the masked L2 feature distance (eq. 7-8) and
        the (B, h, w) mask of the feature positions it averages over."""
        idx = self.fd_cfg['feature_index']
        with torch.no_grad():
            ref = self.imnet_backbone(img)[idx].detach()
        feat = feats[idx]
        mask = thing_class_mask(label, feat.shape[-2:],
                                self.fd_cfg['thing_classes'],
                                self.fd_cfg['min_ratio'], self.num_classes,
                                self.ignore_index)
        loss = float(self.fd_cfg['loss_weight']) * masked_feature_distance(
            feat.float(), ref.float(), mask)
        return loss, mask

    def source_losses(self, src_img: Tensor, src_samples) -> dict:
        """Source cross-entropy plus, if enabled, the feature distance."""
        if self.fd_cfg is None:
            return super().source_losses(src_img, src_samples)
        captured = []

        def keep_outputs(module, inputs, outputs):
            if not captured:
                captured.append(outputs)

        handle = self.student_module.backbone.register_forward_hook(
            keep_outputs)
        try:
            losses = super().source_losses(src_img, src_samples)
        finally:
            handle.remove()
        if not captured:
            raise RuntimeError('DAFormer: the student backbone was not '
                               'called during the source forward pass')
        label = torch.stack(
            [s.gt_sem_seg.data for s in src_samples]).long()
        fd_loss, fd_mask = self.feature_distance(captured[0], src_img, label)
        losses['loss_imnet_feat_dist'] = fd_loss
        losses['fd_mask_ratio'] = fd_mask.float().mean()
        return losses
