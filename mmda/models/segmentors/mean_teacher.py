"""Mean-teacher domain extension day -> night (Scherer et al., DeLTA 2021).

One training step (Scherer et al. §3.3, eq. 12-16;
docs/methods.md#mean-teacher-domain-extension), batches of :class:`~mmda.datasets.uda_dataset.UDADataset` with labelled day
images ``x_s`` (source) and unlabelled night images ``x_t`` (target):

1. ``G_ST(x_s)``: the frozen day->night generator (``translator``, e.g.
   :class:`~mmda.models.translators.Day2NightTranslator`) translates the day
   batch on the fly; it never receives gradients.
2. Supervised loss (eq. 12): cross-entropy of the student on ``x_s`` and on
   ``G_ST(x_s)`` with the same labels, **without dropout** ("No dropout is
   performed [...] when the student receives an image for the supervised
   loss computation"). Both views go through the student as one batch
   (the paper's batches hold day, translated and night images) and the loss
   is rescaled so that it is the *sum* of the two per-view means.
3. Self-supervised consistency (eq. 14-15), skipped while ``ssl_weight`` is
   0 (the 10k-iteration warm-up, set by ``ParamRampHook``):

   * night: teacher on ``A_w(x_t)`` vs student on ``A_s(x_t)`` (weak and
     strong Gaussian noise + colour jitter, :class:`NightAugmentation`);
   * day: teacher on ``x_s`` vs student on ``G_ST(x_s)``;

   squared error between the softmax maps, masked per pixel where the
   teacher's maximum probability is >= ``confidence_threshold`` (rho). The
   mask of the night term is taken from the teacher on the *unaugmented*
   ``x_t`` as written in eq. 15 (``night_mask_input='weak'`` uses
   ``A_w(x_t)`` and saves a forward pass). The student runs these passes
   **with dropout** (Tarvainen & Valpola); the teacher never uses dropout
   (always in eval mode).
4. ``L = L_sup + ssl_weight * L_ssl`` (eq. 16), one optimizer step; the
   teacher is updated afterwards by ``EMATeacherHook`` (alpha 0.999, §4.2).

The teacher is evaluated by default (§4.2, "For stabilization, we report
results of our teacher model").

Ablation switches (Table 1): ``sup_day`` / ``sup_translated`` (train on day,
translated or both), the translator's checkpoint (CycleGAN with or without
feature loss), ``day_consistency`` / ``night_consistency`` (full SSL = both).

Where ``G_ST(x_s)`` and the day images of the day consistency pair come
from (``translation``, ``day_images``):
:class:`~mmda.models.segmentors.day_translation.DayTranslationMixin`.
"""
from collections import OrderedDict
from contextlib import nullcontext
from typing import Dict, List, Optional

import torch
from mmengine.optim import OptimWrapper
from mmseg.models.utils import resize
from torch import Tensor
from torch.profiler import record_function

from mmda.registry import MODELS
from ..uda.night_augmentation import STRONG_NIGHT_AUG, WEAK_NIGHT_AUG
from ..utils import (build_batch_augmentation, dropout_enabled,
                     frozen_bn_stats)
from .base_uda import BaseUDASegmentor
from .day_translation import DayTranslationMixin


@MODELS.register_module()
class MeanTeacherUDA(DayTranslationMixin, BaseUDASegmentor):
    """Mean-teacher domain extension with day->night translation.

    Args:
        segmentor (dict): the student config (e.g. DeepLabV2-VGG16,
            ``configs/_base_/models/deeplabv2_vgg16.py``).
        teacher (bool | dict): the EMA teacher (always needed: it is the
            evaluated network and the consistency target).
        eval_model (str): ``'teacher'`` (default, §4.2) or ``'student'``.
        translator (dict, optional): the frozen day->night generator G_ST,
            a module mapping normalised batches to normalised batches
            (``Day2NightTranslator`` with a CycleGAN checkpoint, or the toy
            stand-in ``FixedDay2Night``). Needed by ``sup_translated`` and
            ``day_consistency`` with ``translation='online'``.
        translation (str): ``'online'`` (default; ``translator`` on the
            crops) or ``'offline'`` (``translated_inputs`` of the batch, the
            paper's setting; no ``translator``).
        day_images (str): ``'labelled'`` (default: the day consistency pair
            is ``x_s``, ``G_ST(x_s)``) or ``'all'`` (``day_inputs`` and
            their translations from an extra unlabelled day stream).
        sup_day (bool): CE on the day images ``x_s`` (eq. 12, first term).
        sup_translated (bool): CE on ``G_ST(x_s)`` (eq. 12, second term).
        night_consistency (bool): the night term of eq. 15.
        day_consistency (bool): the day term of eq. 15.
        weak_aug (dict): A_w, a :class:`NightAugmentation` config; its
            ``mean``/``std`` default to the data pre-processor's.
        strong_aug (dict): A_s, likewise.
        confidence_threshold (float): rho of eq. 14 (scheduled 0.5 -> 0.9 by
            ``ParamRampHook``, §4.2).
        ssl_weight (float): lambda_ssl of eq. 16 (scheduled 0 during the
            warm-up, then 50 -> 100, §4.2). The SSL passes are skipped while
            it is 0.
        consistency_loss (dict): ``MaskedConsistencyLoss`` config (its
            ``reduction``; the threshold is :attr:`confidence_threshold`).
        consistency_size (str): ``'logits'`` compares the softmax maps at the
            output resolution of the network (stride 8; §4.3: "we use a lower
            dimensional feature map for the loss calculation"), ``'image'``
            upsamples them to the input size first.
        night_mask_input (str): ``'clean'`` (eq. 15: mask from the teacher
            on ``x_t``) or ``'weak'`` (from ``A_w(x_t)``).
        student_dropout (bool): dropout in the student's consistency passes
            (True, §3.3); never in its supervised passes.
        consistency_bn_stats (str): ``'update'`` (default): the student's
            consistency pass updates the BatchNorm running statistics like
            any training pass; ``'frozen'``: it normalises with its batch
            statistics but leaves the running statistics (which the EMA
            teacher inherits and evaluation uses) to the supervised pass.
            The paper does not say; see configs/mean_teacher/toy_mt_base.py.
        ignore_index (int): ignored label value.
        **kwargs: ``data_preprocessor``, ``train_cfg``, ``test_cfg``,
            ``init_cfg`` of :class:`BaseUDASegmentor`
            (``train_cfg=dict(seed=...)`` fixes
            the per-iteration generator of the augmentations).
    """

    def __init__(self,
                 segmentor: dict,
                 teacher=True,
                 eval_model: str = 'teacher',
                 translator: Optional[dict] = None,
                 translation: str = 'online',
                 day_images: str = 'labelled',
                 sup_day: bool = True,
                 sup_translated: bool = True,
                 night_consistency: bool = True,
                 day_consistency: bool = True,
                 weak_aug: Optional[dict] = WEAK_NIGHT_AUG,
                 strong_aug: Optional[dict] = STRONG_NIGHT_AUG,
                 confidence_threshold: float = 0.5,
                 ssl_weight: float = 50.0,
                 consistency_loss: dict = dict(
                     type='MaskedConsistencyLoss', reduction='mean'),
                 consistency_size: str = 'logits',
                 night_mask_input: str = 'clean',
                 student_dropout: bool = True,
                 consistency_bn_stats: str = 'update',
                 ignore_index: int = 255,
                 **kwargs) -> None:
        if not teacher:
            raise ValueError('MeanTeacherUDA: needs a teacher (teacher=True):'
                             ' it gives the consistency targets and is '
                             'evaluated (Scherer et al. §4.2)')
        super().__init__(
            segmentor=segmentor,
            teacher=teacher,
            eval_model=eval_model,
            **kwargs)
        if not (sup_day or sup_translated):
            raise ValueError('MeanTeacherUDA: at least one of sup_day and '
                             'sup_translated must be True (no labelled loss '
                             'otherwise)')
        if consistency_size not in ('logits', 'image'):
            raise ValueError("MeanTeacherUDA: consistency_size must be "
                             f"'logits' or 'image', got {consistency_size!r}")
        if consistency_bn_stats not in ('update', 'frozen'):
            raise ValueError('MeanTeacherUDA: consistency_bn_stats must be '
                             f"'update' or 'frozen', got "
                             f'{consistency_bn_stats!r}')
        if night_mask_input not in ('clean', 'weak'):
            raise ValueError("MeanTeacherUDA: night_mask_input must be "
                             f"'clean' or 'weak', got {night_mask_input!r}")
        self.init_translation(translator, translation, day_images,
                              sup_translated or day_consistency)
        self.sup_day = bool(sup_day)
        self.sup_translated = bool(sup_translated)
        self.night_consistency = bool(night_consistency)
        self.day_consistency = bool(day_consistency)
        self.weak_aug = build_batch_augmentation(
            weak_aug, self.data_preprocessor, 'MeanTeacherUDA', 'weak_aug')
        self.strong_aug = build_batch_augmentation(
            strong_aug, self.data_preprocessor, 'MeanTeacherUDA',
            'strong_aug')
        self.confidence_threshold = float(confidence_threshold)
        self.ssl_weight = float(ssl_weight)
        if not isinstance(consistency_loss, dict) \
                or 'type' not in consistency_loss:
            raise TypeError('MeanTeacherUDA: consistency_loss must be a loss '
                            "config such as dict(type='MaskedConsistencyLoss')"
                            f', got {consistency_loss!r}')
        self.consistency_loss = MODELS.build(dict(consistency_loss))
        self.consistency_size = consistency_size
        self.night_mask_input = night_mask_input
        self.student_dropout = bool(student_dropout)
        self.consistency_bn_stats = consistency_bn_stats
        self.ignore_index = ignore_index

    def train(self, mode: bool = True) -> 'MeanTeacherUDA':
        """Training mode; the teacher and the translator stay in eval."""
        super().train(mode)
        if self.translator is not None:
            self.translator.eval()
        return self

    # ------------------------------------------------------------ helpers
    @property
    def ssl_active(self) -> bool:
        """Whether this step computes the consistency loss."""
        return self.ssl_weight != 0 and (self.night_consistency
                                         or self.day_consistency)

    def _probs(self, logits: Tensor, size) -> Tensor:
        if self.consistency_size == 'image' and \
                tuple(logits.shape[-2:]) != tuple(size):
            logits = resize(logits, size=size, mode='bilinear',
                            align_corners=self.align_corners)
        return torch.softmax(logits.float(), dim=1)

    @torch.no_grad()
    def teacher_probs(self, img: Tensor) -> Tensor:
        """Teacher softmax (eval mode: no dropout, BN running statistics)."""
        return self._probs(self.teacher_module(img, mode='tensor'),
                           img.shape[-2:])

    @staticmethod
    def _scale_losses(losses: Dict[str, Tensor],
                      factor: float) -> Dict[str, Tensor]:
        return OrderedDict(
            (k, v * factor if 'loss' in k else v) for k, v in losses.items())

    # ----------------------------------------------------------- training
    def forward_train(self, data: dict,
                      optim_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        src_img = data['inputs']
        src_samples = data['data_samples']
        ssl = self.ssl_active
        if ssl and self.night_consistency and 'target_inputs' not in data:
            raise KeyError(
                'MeanTeacherUDA.train_step: the night consistency needs '
                '`target_inputs`; train with train_dataloader.dataset=dict('
                "type='UDADataset', source=<day>, target=<night>)")
        log_vars = OrderedDict()
        g = self.iter_generator(src_img.device)
        need_translation = self.sup_translated or (
            ssl and self.day_consistency and self.day_images == 'labelled')
        translated = self.get_translated(data) if need_translation else None

        # 1. supervised loss on day and translated images, no dropout
        views: List[Tensor] = []
        if self.sup_day:
            views.append(src_img)
        if self.sup_translated:
            views.append(translated)
        sup_img = torch.cat(views) if len(views) > 1 else views[0]
        sup_samples = list(src_samples) * len(views)
        sync = self.no_sync_student() if ssl else nullcontext()
        with record_function('mean_teacher.supervised'), sync, \
                dropout_enabled(self.student_module, False):
            with optim_wrapper.optim_context(self):
                losses = self.student(sup_img, sup_samples, mode='loss')
            # eq. 12 is the sum of the per-view means (equal label sets)
            sup_loss, sup_logs = self.parse_losses(
                self._scale_losses(
                    self.rename_losses(losses, 'sup.'), float(len(views))))
            self.backward(sup_loss, optim_wrapper)
        sup_logs.pop('loss')
        log_vars.update((k, v.detach()) for k, v in sup_logs.items())
        total = sup_loss.detach()

        # 2. consistency (eq. 14-15), dropout in the student only
        if ssl:
            t_imgs, s_imgs, pairs = [], [], []
            if self.night_consistency:
                tgt_img = data['target_inputs']
                weak = self.weak_aug(tgt_img, generator=g) \
                    if self.weak_aug is not None else tgt_img
                strong = self.strong_aug(tgt_img, generator=g) \
                    if self.strong_aug is not None else tgt_img
                n = tgt_img.shape[0]
                t_imgs.append(weak)
                mask_slot = None
                if self.night_mask_input == 'clean':
                    t_imgs.append(tgt_img)
                    mask_slot = len(t_imgs) - 1
                s_imgs.append(strong)
                pairs.append(('night', 0, mask_slot, 0, n))
            if self.day_consistency:
                day_img, day_trans = self.day_pair(data, src_img,
                                                    translated)
                t_imgs.append(day_img)
                s_imgs.append(day_trans)
                pairs.append(('day', len(t_imgs) - 1, None, len(s_imgs) - 1,
                              day_img.shape[0]))
            self._check_sizes(t_imgs + s_imgs)
            with record_function('mean_teacher.teacher'):
                with optim_wrapper.optim_context(self):
                    t_probs = self.teacher_probs(torch.cat(t_imgs))
                t_chunks = self._split(t_probs, [x.shape[0] for x in t_imgs])
            with record_function('mean_teacher.consistency'), \
                    dropout_enabled(self.student_module,
                                    self.student_dropout and self.training), \
                    frozen_bn_stats(self.student_module,
                                    self.consistency_bn_stats == 'frozen'):
                with optim_wrapper.optim_context(self):
                    s_in = torch.cat(s_imgs)
                    s_probs = self._probs(
                        self.student(s_in, mode='tensor'), s_in.shape[-2:])
                s_chunks = self._split(s_probs, [x.shape[0] for x in s_imgs])
                ssl_loss = 0.0
                for name, t_slot, m_slot, s_slot, _ in pairs:
                    loss, mask = self.consistency_loss(
                        s_chunks[s_slot], t_chunks[t_slot],
                        threshold=self.confidence_threshold,
                        mask_probs=None if m_slot is None else
                        t_chunks[m_slot])
                    ssl_loss = ssl_loss + loss
                    log_vars[f'ssl.loss_{name}'] = loss.detach()
                    log_vars[f'ssl.mask_{name}'] = mask.mean().detach()
                ssl_loss = self.ssl_weight * ssl_loss
                self.backward(ssl_loss, optim_wrapper)
            total = total + ssl_loss.detach()
        dev = src_img.device
        log_vars['ssl_weight'] = torch.tensor(self.ssl_weight, device=dev)
        log_vars['rho'] = torch.tensor(self.confidence_threshold, device=dev)
        log_vars['loss'] = total
        log_vars.move_to_end('loss', last=False)

        if self.vis_requested:
            self.stash_vis(src_img=src_img, translated=translated,
                           tgt_img=data.get('target_inputs'))
        return log_vars

    @staticmethod
    def _split(x: Tensor, sizes: List[int]) -> List[Tensor]:
        return list(torch.split(x, sizes, dim=0))

    @staticmethod
    def _check_sizes(imgs: List[Tensor]) -> None:
        sizes = {tuple(x.shape[1:]) for x in imgs}
        if len(sizes) > 1:
            raise ValueError(
                'MeanTeacherUDA: day and night batches must have the same '
                f'image size (same crop), got {sorted(sizes)}')

