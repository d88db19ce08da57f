"""DACS: Domain Adaptation via Cross-domain mixed Sampling (Tranheden, Olsson
et al.), and semi-supervised ClassMix, as one segmentor.

One training step (thesis ch. 3, §3.2; docs/methods.md#dacs):

1. supervised cross-entropy of the student on the labelled source batch
   (backwarded at once, which frees its graph);
2. the teacher (EMA of the student, no gradient) predicts the unaugmented
   target batch -> softmax -> pseudo-labels and loss weights
   (:func:`mmda.models.uda.pseudo_label_weight`, threshold 0.968, one
   weight per batch). Its BatchNorm layers normalise with the target
   batch's own statistics, as the DACS/DAFormer teachers that run in train
   mode, without changing its buffers (``teacher_bn='batch'``);
3. mixing (ClassMix by default): "inter" pastes the classes chosen from the
   source ground truth onto the target image (DACS), "intra" mixes target
   image b with target image b+1 using the pseudo-label of b (ClassMix SSL,
   thesis Algorithm 1; the IntraMix ablation of Table 5.2);
4. strong augmentation (colour jitter, Gaussian blur) of the mixed images;
5. pixel-weighted cross-entropy of the student on the mixed batch
   (backwarded), then a single optimizer step. The teacher is updated
   afterwards by :class:`mmda.engine.hooks.EMATeacherHook`.

Config switches (same code path): pseudo-label weight mode (and per-batch
vs per-image reduction), teacher BatchNorm statistics, soft targets instead
of pseudo-labels, IntraMix vs InterMix, distribution alignment of the
teacher probabilities (thesis §2.5.6, §5.2.2).

Memory (docs/performance.md): freed are the teacher softmax once the
pseudo-labels exist (unless soft targets need it), the full-resolution maps
only logs read before the mixed pass, its logits before its backward.
"""
from collections import OrderedDict
from contextlib import nullcontext
from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapper
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from torch import Tensor
from torch.profiler import record_function

from mmda.registry import MODELS
from ..losses.cross_entropy import (pixel_weighted_cross_entropy,
                                    soft_cross_entropy)
from ..uda.pseudo_label import TEACHER_BN_MODES, pseudo_label_weight
from ..utils import bn_batch_statistics, build_batch_augmentation
from .base_uda import BaseUDASegmentor


@MODELS.register_module()
class DACS(BaseUDASegmentor):
    """DACS / ClassMix self-training with a mean teacher.

    Args:
        segmentor (dict): the student config (e.g. DeepLabV2).
        teacher (bool | dict): mean teacher (thesis §2.5.5); DACS uses one
            (EMA alpha 0.99 in ``EMATeacherHook``). With ``False`` the
            student itself (eval mode, no gradient) makes the pseudo-labels.
        eval_model (str): ``'student'`` (DACS reports the student).
        mix (dict): mixer config, ``dict(type='ClassMix')`` (default),
            ``'CutMix'`` or ``'CowMix'`` (thesis §2.5.2, Table 5.1).
        mix_domain (str): ``'inter'`` (DACS: source pasted on target, mask
            from the source ground truth) or ``'intra'`` (ClassMix SSL and
            the IntraMix ablation: target b mixed with target b+1, mask from
            the pseudo-label of b; needs batch >= 2).
        strong_aug (dict, optional): augmentation applied to the mixed
            images, e.g. ``dict(type='StrongAugmentation', color_jitter_p=0.5,
            blur_p=0.5)``; ``mean``/``std`` default to the data
            pre-processor's. ``None`` disables it (ClassMix SSL default,
            thesis §3.2).
        pseudo_label (dict): keyword arguments of
            :func:`mmda.models.uda.pseudo_label_weight`: ``mode``
            (``'threshold_uniform'`` (default), ``'threshold'``,
            ``'sigmoid'`` (eq. 2.13, ramp over ``ramp_iters``), ``'none'``),
            ``threshold`` (0.968, thesis §2.5.4), ``reduce`` (``'batch'``
            (default): one weight per batch, thesis §5.2.1 and the DACS /
            DAFormer code; ``'image'``: per image, an ablation), ...
        teacher_bn (str): BatchNorm statistics of the network that makes
            the pseudo-labels. ``'batch'`` (default): the statistics of the
            target batch itself, as the DACS and DAFormer teachers, which
            run in train mode; the running buffers are neither used nor
            changed (:func:`mmda.models.utils.bn_batch_statistics`).
            ``'running'``: eval mode, the running statistics (a different
            method, kept as an ablation). Every other layer is in eval
            mode either way.
        soft_targets (bool): train the mixed batch against the (mixed)
            teacher softmax instead of pseudo-labels (thesis Table 5.1 "no
            pseudo-labels"). Defaults to False.
        dist_align (dict, optional): ``dict(type='DistributionAlignment',
            num_classes=19, target_dist=[...])`` rescales the teacher
            probabilities by ``p(y) / p~(y)`` before pseudo-labelling
            (thesis §2.5.6 and "Distribution Aligned IntraMix", §5.2.2).
        mix_loss_weight (float): ``lambda_u0`` of eq. 3.1 (thesis: 1).
        ignore_index (int): ignored label value. Defaults to 255.
        mic (dict, optional): masked image consistency (MIC, Hoyer et al.
            2023), e.g. ``dict(mask_ratio=0.7, block_size=64)``; keyword
            arguments of :class:`mmda.models.uda.masking.MaskedImageConsistency`.
            ``None`` (default) disables it.
        **kwargs: ``data_preprocessor``, ``train_cfg``, ``test_cfg``,
            ``init_cfg`` of :class:`BaseUDASegmentor`
            (``train_cfg=dict(seed=...)`` fixes
            the seed of the per-iteration generator).
    """

    def __init__(self,
                 segmentor: dict,
                 teacher=True,
                 eval_model: str = 'student',
                 mix: Optional[dict] = dict(type='ClassMix'),
                 mix_domain: str = 'inter',
                 strong_aug: Optional[dict] = dict(type='StrongAugmentation'),
                 pseudo_label: Optional[dict] = None,
                 soft_targets: bool = False,
                 teacher_bn: str = 'batch',
                 dist_align: Optional[dict] = None,
                 mix_loss_weight: float = 1.0,
                 ignore_index: int = 255,
                 mic: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            segmentor=segmentor,
            teacher=teacher,
            eval_model=eval_model,
            **kwargs)
        if mix_domain not in ('inter', 'intra'):
            raise ValueError("DACS: mix_domain must be 'inter' or 'intra', "
                             f'got {mix_domain!r}')
        if not isinstance(mix, dict) or 'type' not in mix:
            raise TypeError('DACS: `mix` must be a mixer config such as '
                            f"dict(type='ClassMix'), got {mix!r}")
        self.mix_domain = mix_domain
        self.mixer = MODELS.build(dict(mix))
        self.strong_aug = build_batch_augmentation(
            strong_aug, self.data_preprocessor, 'DACS', 'strong_aug')
        self.pseudo_label_cfg = dict(
            mode='threshold_uniform', threshold=0.968, reduce='batch')
        self.pseudo_label_cfg.update(pseudo_label or {})
        for key in ('probs', 'iteration'):
            if key in self.pseudo_label_cfg:
                raise KeyError(f'DACS: pseudo_label.{key} is set by the '
                               'segmentor, remove it from the config')
        self.soft_targets = bool(soft_targets)
        if teacher_bn not in TEACHER_BN_MODES:
            raise ValueError(f'DACS: teacher_bn must be one of '
                             f'{TEACHER_BN_MODES}, got {teacher_bn!r}')
        self.teacher_bn = teacher_bn
        self.dist_align = None
        if dist_align is not None:
            self.dist_align = MODELS.build(dict(dist_align))
            if self.dist_align.num_classes != self.num_classes:
                raise ValueError(
                    f'DACS: dist_align.num_classes '
                    f'({self.dist_align.num_classes}) differs from the '
                    f"segmentor's ({self.num_classes})")
        self.mix_loss_weight = float(mix_loss_weight)
        self.ignore_index = ignore_index
        self.mic = None if mic is None else MODELS.build(
            dict(dict(type='MaskedImageConsistency'), **mic))

    # ------------------------------------------------------------ helpers
    def _resize(self, logits: Tensor, size) -> Tensor:
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return resize(
            logits, size=size, mode='bilinear',
            align_corners=self.align_corners)

    @torch.no_grad()
    def teacher_probs(self, img: Tensor) -> Tensor:
        """Softmax of the teacher (or, without one, the student in eval
        mode) on ``img``, upsampled to the image size. With
        ``teacher_bn='batch'`` its BatchNorm layers use ``img``'s batch
        statistics and leave their buffers untouched."""
        net = self.teacher_module if self.teacher is not None \
            else self.student_module
        was_training = net.training
        net.eval()
        bn_ctx = bn_batch_statistics(net) if self.teacher_bn == 'batch' \
            else nullcontext()
        try:
            with bn_ctx:
                logits = net(img, mode='tensor')
        finally:
            net.train(was_training)
        logits = self._resize(logits, img.shape[-2:])
        return torch.softmax(logits.float(), dim=1)

    def _one_hot(self, label: Tensor, num_classes: int) -> Tensor:
        """(B, 1, H, W) labels -> (B, C, H, W) one-hot, zero on ignored."""
        valid = label != self.ignore_index
        onehot = torch.zeros(
            (label.shape[0], num_classes) + tuple(label.shape[-2:]),
            dtype=torch.float32, device=label.device)
        onehot.scatter_(1, torch.where(valid, label, 0).long(), 1.0)
        return onehot * valid.float()

    def source_losses(self, src_img: Tensor, src_samples) -> dict:
        """Losses of the student on the labelled source batch (step 1);
        subclasses add terms (DAFormer: the ImageNet feature distance)."""
        return self.student(src_img, src_samples, mode='loss')

    # ----------------------------------------------------------- training
    def forward_train(self, data: dict,
                      optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        if 'target_inputs' not in data:
            raise KeyError(
                'DACS.train_step: the batch has no `target_inputs`; train '
                "with train_dataloader.dataset=dict(type='UDADataset', "
                'source=..., target=...)')
        src_img, src_samples = data['inputs'], data['data_samples']
        tgt_img = data['target_inputs']
        if src_img.shape != tgt_img.shape:
            raise ValueError(
                'DACS: source and target batches must have the same shape '
                '(same batch size and crop), got '
                f'{tuple(src_img.shape)} and {tuple(tgt_img.shape)}')
        B = src_img.shape[0]
        if self.mix_domain == 'intra' and B < 2:
            raise ValueError("DACS: mix_domain='intra' mixes target image b "
                             'with image b+1 and needs a batch size >= 2')
        log_vars = OrderedDict()

        # 1. supervised source loss (own backward: frees the graph)
        with record_function('dacs.source'), self.no_sync_student():
            with optim_wrapper.optim_context(self):
                src_losses = self.source_losses(src_img, src_samples)
            src_loss, src_logs = self.parse_losses(
                self.rename_losses(src_losses, 'src.'))
            self.backward(src_loss, optim_wrapper)
        src_logs.pop('loss')
        log_vars.update((k, v.detach()) for k, v in src_logs.items())

        # 2. teacher pseudo-labels and weights on the unaugmented target
        g = self.iter_generator(src_img.device)
        with record_function('dacs.pseudo_label'):
            with optim_wrapper.optim_context(self):
                probs = self.teacher_probs(tgt_img)
            if self.dist_align is not None:
                probs = self.dist_align(probs)
            pl_cfg = dict(self.pseudo_label_cfg)
            if pl_cfg.get('mode') == 'sigmoid':
                pl_cfg['iteration'] = int(self.uda_iter)
            pseudo_label, tgt_weight = pseudo_label_weight(probs, **pl_cfg)
            # MIC's weight: the host's, or its own confidence weight
            mic_weight = None if self.mic is None else \
                self.mic.pseudo_weight(probs, tgt_weight)
        if not self.soft_targets:
            del probs  # (B, C, H, W): only soft targets need it any longer
        pseudo_label = pseudo_label[:, None]  # (B, 1, H, W)
        tgt_weight = tgt_weight[:, None].float()

        # 3. mixing
        src_label = torch.stack(
            [s.gt_sem_seg.data for s in src_samples]).long()
        if src_label.shape[-2:] != src_img.shape[-2:]:
            raise ValueError('DACS: source labels '
                             f'{tuple(src_label.shape[-2:])} and images '
                             f'{tuple(src_img.shape[-2:])} differ in size')
        if self.mix_domain == 'inter':
            a_img, b_img = src_img, tgt_img
            a_label, b_label = src_label, pseudo_label
            a_weight = (src_label != self.ignore_index).float() \
                if self.soft_targets else torch.ones_like(tgt_weight)
            b_weight = tgt_weight
            if self.soft_targets:
                a_probs = self._one_hot(src_label, probs.shape[1])
                b_probs = probs
        else:  # intra: target b with target b+1 (thesis Algorithm 1)
            a_img, b_img = tgt_img, tgt_img.roll(-1, dims=0)
            a_label, b_label = pseudo_label, pseudo_label.roll(-1, dims=0)
            a_weight, b_weight = tgt_weight, tgt_weight.roll(-1, dims=0)
            if self.soft_targets:
                a_probs, b_probs = probs, probs.roll(-1, dims=0)
        if self.soft_targets:
            del probs  # a_probs / b_probs hold what the loss needs
        with record_function('dacs.mix'):
            mask = self.mixer.generate_masks(a_label, generator=g)
            mask = mask.to(device=src_img.device, dtype=torch.float32)
            mixed_img = self.mixer.mix(mask, a_img, b_img)
            mixed_label = self.mixer.mix(mask, a_label, b_label)
            mixed_weight = self.mixer.mix(mask, a_weight, b_weight)
        del a_img, b_img, a_label, b_label, a_weight, b_weight

        # 4. strong augmentation of the mixed images (labels unchanged)
        if self.strong_aug is not None:
            with record_function('dacs.strong_aug'):
                params = self.strong_aug.sample_params(B, generator=g)
                mixed_img, _ = self.strong_aug(mixed_img, params)

        # MIC (Hoyer et al. 2023; mmda/models/uda/masking.py): the student
        # on the masked target vs the full-image pseudo-label and weight.
        if self.mic is not None:
            with record_function('dacs.mic'), self.no_sync_student():
                masked_img, mic_mask = self.mic.masked_images(
                    tgt_img, self.strong_aug, generator=g)
                with optim_wrapper.optim_context(self):
                    mic_logits = self._resize(
                        self.student(masked_img, mode='tensor'),
                        tgt_img.shape[-2:])
                    mic_loss = self.mic.loss(mic_logits.float(), pseudo_label,
                                             mic_weight, self.ignore_index)
                self.backward(mic_loss, optim_wrapper)
            log_vars['mic.loss_ce'] = mic_loss.detach()
            log_vars['mic.pseudo_weight'] = mic_weight.float().mean()
            log_vars['mic.mask_ratio'] = 1.0 - mic_mask.mean()
            del mic_logits, mic_loss

        # only logs and the visualisation read these any longer
        log_weight, log_mask = tgt_weight.mean(), mask.mean()
        if not self.vis_requested:
            del src_label, pseudo_label, tgt_weight
            if not self.soft_targets:
                del mask

        # 5. weighted loss of the student on the mixed batch
        with record_function('dacs.mix_loss'), \
                optim_wrapper.optim_context(self):
            logits = self.student(mixed_img, mode='tensor')
            logits = self._resize(logits, mixed_img.shape[-2:])
            if self.soft_targets:
                mixed_probs = a_probs * mask + b_probs * (1.0 - mask)
                del a_probs, b_probs
                mix_loss = soft_cross_entropy(
                    logits.float(), mixed_probs, mixed_weight)
                del mixed_probs
            else:
                mix_loss = pixel_weighted_cross_entropy(
                    logits.float(), mixed_label, mixed_weight,
                    self.ignore_index)
            mix_loss = self.mix_loss_weight * mix_loss
        # the accuracy log before the backward, so that the full-resolution
        # logits (which the graph does not keep) are freed before it
        mix_acc = None if self.soft_targets else accuracy(
            logits.detach(), mixed_label[:, 0], ignore_index=self.ignore_index)
        del logits
        with record_function('dacs.mix_backward'):
            self.backward(mix_loss, optim_wrapper)

        log_vars['mix.loss_ce'] = mix_loss.detach()
        log_vars['mix.pseudo_weight'] = log_weight
        log_vars['mix.mask_ratio'] = log_mask
        if mix_acc is not None:
            log_vars['mix.acc_seg'] = mix_acc
        log_vars['loss'] = (src_loss.detach() + mix_loss.detach())
        if self.mic is not None:
            log_vars['loss'] = log_vars['loss'] + log_vars['mic.loss_ce']
        log_vars.move_to_end('loss', last=False)

        if self.vis_requested:
            self.stash_vis(
                src_img=src_img, src_label=src_label, tgt_img=tgt_img,
                pseudo_label=pseudo_label, pseudo_weight=tgt_weight,
                mask=mask, mixed_img=mixed_img, mixed_label=mixed_label,
                mixed_weight=mixed_weight)
        return log_vars
