# Copyright (c) mmda contributors. All rights reserved.
"""ASS: Alleviating Semantic-level Shift (Wang et al., CVPRW 2020).

Semi-supervised domain adaptation with all labelled source images ``S``, a
few labelled target images ``T_L`` and the unlabelled target images ``T_U``
(docs/methods.md#ass; paper §3). One training step:

1. **Segmentor update** (eq. 9), discriminators frozen:
   ``lambda_seg * (L_seg(I_s) + L_seg(I_tl)) + lambda_gadv * L_gadv(I_s)
   + lambda_sadv * L_sadv(I_s)``:

   * ``L_seg``: cross-entropy of the upsampled score maps (eq. 1, the
     decode head's own loss);
   * ``L_gadv`` (eq. 2): the output-space discriminator ``D_g`` on the
     source softmax maps ``P_s`` (upsampled to the input size), pushed
     towards "target" (label 1);
   * ``L_sadv`` (eq. 5 FCSA / eq. 7 CSA): the semantic discriminator
     ``D_s`` on the source feature map ``F_s`` (the input of the classifier
     ``CH``) with the labels downsampled to ``F``; class-``k`` features are
     pushed towards "class ``k`` of the target domain" (channel ``k + c``).

2. **Discriminator updates** (eq. 10) on detached inputs:
   ``lambda_gd * (L_gd(P_s, z=0) + L_gd(P_tu, z=1))`` for ``D_g`` (eq. 3) and
   ``lambda_sd * (L_sd(F_s, z=0) + L_sd(F_tl, z=1))`` for ``D_s`` (eq. 6/8).

Each network has its own optimizer (``OptimWrapperDict`` with the keys
``student``, ``global_discriminator``, ``semantic_discriminator``, built by
``MultiOptimWrapperConstructor``): SGD with Nesterov momentum for the
segmentor, Adam(0.9, 0.99) for the discriminators (§4.2), each with its own
poly schedule (``param_scheduler`` as a dict keyed like the optimizers).
Discriminator parameters get no gradient in step 1 (``requires_grad`` is
switched off and the unwrapped module is called) and the segmentor none in
step 2 (detached inputs).

Under DDP use ``model_wrapper_cfg=dict(type=
'MMSeparateDistributedDataParallel', broadcast_buffers=False,
find_unused_parameters=False)``: the student and both discriminators are
wrapped separately; every forward whose gradients must be synchronised goes
through the wrapper.
"""
from collections import OrderedDict
from contextlib import nullcontext
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmseg.models.utils import resize
from mmseg.utils import SampleList
from torch import Tensor

from mmda.registry import MODELS
from ..discriminators.output_space import output_space_adversarial_loss
from ..discriminators.semantic import check_labels, downsample_labels
from ..utils import frozen, unwrap
from .base_uda import BaseUDASegmentor

STUDENT = 'student'
GLOBAL_D = 'global_discriminator'
SEMANTIC_D = 'semantic_discriminator'


def _no_sync(module: nn.Module, skip: bool):
    """DDP ``no_sync`` of a wrapped module when ``skip`` (else a no-op)."""
    if skip and hasattr(module, 'no_sync'):
        return module.no_sync()
    return nullcontext()


@MODELS.register_module()
class ASS(BaseUDASegmentor):
    """Semi-supervised DA with global and semantic-level discriminators.

    The batch comes from :class:`mmda.datasets.semi_target.SemiTargetUDADataset`:
    ``inputs`` / ``data_samples`` (source), ``labeled_inputs`` /
    ``labeled_data_samples`` (T_L; absent when no target image is labelled)
    and ``target_inputs`` / ``target_data_samples`` (T_U, labels unused).

    Args:
        segmentor (dict): the segmentation network (an mmseg
            ``EncoderDecoder`` without auxiliary head, e.g. DeepLabV2). Its
            decode head's input is the feature map ``F`` and its loss is
            ``L_seg``.
        global_discriminator (dict, optional): ``D_g`` config, e.g.
            ``dict(type='OutputSpaceDiscriminator')`` (``in_channels``
            defaults to the number of classes). None disables the global
            adaptation (``L_gadv``, ``L_gd``).
        semantic_discriminator (dict, optional): ``D_s`` config,
            ``dict(type='FCSADiscriminator')`` or
            ``dict(type='CSADiscriminator')`` (``in_channels`` defaults to the
            decode head's ``in_channels``, ``num_classes`` to the
            segmentor's). None disables the semantic-level adaptation.
        lambda_seg (float): weight of both segmentation losses (eq. 9).
            Defaults to 1.
        lambda_gadv (float): weight of ``L_gadv``. Defaults to 0.001, the
            output-space adversarial weight of AdaptSegNet (single level),
            whose GA module ASS uses (§4.1); the ASS paper gives no value.
        lambda_sadv (float): weight of ``L_sadv``. Defaults to 0.01, the best
            CSA value of Table 2(b) (the method is insensitive to it, Table
            2: 1 to 0.001 within 0.7 mIoU; FCSA configs use 1.0, the value
            that reproduces Table 1's 100-image FCSA entry in Table 2(a)).
        lambda_gd (float): weight of each ``L_gd`` term (eq. 10). Defaults
            to 1.
        lambda_sd (float): weight of each ``L_sd`` term (eq. 10). Defaults
            to 1.
        ignore_index (int): label of unlabelled pixels. Defaults to 255.
        **kwargs: ``data_preprocessor`` (default: the segmentor's, as
            ``UDADataPreProcessor``), ``train_cfg``, ``test_cfg``,
            ``init_cfg`` of :class:`BaseUDASegmentor`.
    """

    def __init__(self,
                 segmentor: dict,
                 global_discriminator: Optional[dict] = None,
                 semantic_discriminator: Optional[dict] = None,
                 lambda_seg: float = 1.0,
                 lambda_gadv: float = 0.001,
                 lambda_sadv: float = 0.01,
                 lambda_gd: float = 1.0,
                 lambda_sd: float = 1.0,
                 ignore_index: int = 255,
                 **kwargs) -> None:
        super().__init__(
            segmentor=segmentor,
            teacher=False,
            eval_model='student',
            **kwargs)
        student = self.student_module
        if getattr(student, 'with_auxiliary_head', False):
            raise ValueError('ASS: the segmentor must not have an '
                             'auxiliary_head (ASS adapts the single feature '
                             'map F of the classifier); remove it from the '
                             'segmentor config')
        if not hasattr(student, 'decode_head'):
            raise TypeError('ASS: the segmentor must be an EncoderDecoder-'
                            'like model with a decode_head, got '
                            f'{type(student).__name__}')
        num_classes = student.decode_head.num_classes
        self.ignore_index = int(ignore_index)
        self.lambda_seg = float(lambda_seg)
        self.lambda_gadv = float(lambda_gadv)
        self.lambda_sadv = float(lambda_sadv)
        self.lambda_gd = float(lambda_gd)
        self.lambda_sd = float(lambda_sd)

        if global_discriminator is not None:
            cfg = dict(global_discriminator)
            cfg.setdefault('in_channels', num_classes)
            self.global_discriminator = MODELS.build(cfg)
        else:
            self.global_discriminator = None
        if semantic_discriminator is not None:
            cfg = dict(semantic_discriminator)
            cfg.setdefault('num_classes', num_classes)
            cfg.setdefault('ignore_index', self.ignore_index)
            if 'in_channels' not in cfg:
                in_ch = student.decode_head.in_channels
                if not isinstance(in_ch, int):
                    raise KeyError(
                        'ASS: set semantic_discriminator.in_channels (the '
                        'channels of the feature map F); the decode head has '
                        f'several inputs {in_ch}')
                cfg['in_channels'] = in_ch
            self.semantic_discriminator = MODELS.build(cfg)
            if self.semantic_discriminator.num_classes != num_classes:
                raise ValueError(
                    'ASS: semantic_discriminator.num_classes='
                    f'{self.semantic_discriminator.num_classes} differs from '
                    f'the segmentor\'s {num_classes} classes')
        else:
            self.semantic_discriminator = None
        keys = [STUDENT]
        if self.global_discriminator is not None:
            keys.append(GLOBAL_D)
        if self.semantic_discriminator is not None:
            keys.append(SEMANTIC_D)
        # one optim wrapper per network (BaseUDASegmentor.train_step)
        self.optim_wrapper_keys = tuple(keys)

    # ------------------------------------------------------------ helpers
    @property
    def global_discriminator_module(self) -> Optional[nn.Module]:
        return None if self.global_discriminator is None else unwrap(
            self.global_discriminator)

    @property
    def semantic_discriminator_module(self) -> Optional[nn.Module]:
        return None if self.semantic_discriminator is None else unwrap(
            self.semantic_discriminator)

    def forward_student(self, inputs: Tensor,
                        data_samples: Optional[SampleList] = None
                        ) -> Tuple[Tensor, Tensor]:
        """Student logits and the feature map ``F`` in one forward.

        The forward goes through the (possibly DDP-wrapped) student with
        ``mode='tensor'``; ``F`` is the decode head's input (after its
        ``in_index`` selection) taken from the output of the neck (or of the
        backbone) by a temporary forward hook (``EncoderDecoder`` calls the
        decode head's ``forward`` directly, which runs no hooks).

        Returns:
            tuple[Tensor, Tensor]: logits (B, c, h, w) and ``F`` (B, n, h, w).
        """
        student = self.student_module
        head = student.decode_head
        source = student.neck if getattr(student, 'with_neck', False) \
            else student.backbone
        captured: List[Tensor] = []

        def hook(module, args, output):
            captured.append(head._transform_inputs(output))

        handle = source.register_forward_hook(hook)
        try:
            logits = self.student(inputs, data_samples, mode='tensor')
        finally:
            handle.remove()
        if len(captured) != 1:
            raise RuntimeError(
                f'ASS: the {type(source).__name__} ran {len(captured)} '
                'times in one forward of the segmentor (expected once)')
        return logits, captured[0]

    def score_maps(self, logits: Tensor, size) -> Tensor:
        """Softmax of the logits upsampled (bilinear) to the input size: the
        ``P`` that ``D_g`` sees (§3.1-3.2, as AdaptSegNet)."""
        logits = resize(logits, size=size, mode='bilinear',
                        align_corners=self.align_corners)
        return F.softmax(logits, dim=1)

    def seg_loss(self, logits: Tensor, data_samples: SampleList,
                 prefix: str) -> Dict[str, Tensor]:
        """``lambda_seg * L_seg`` by the decode head's loss (eq. 1)."""
        losses = self.student_module.decode_head.loss_by_feat(
            logits, data_samples)
        out = OrderedDict()
        for k, v in losses.items():
            out[prefix + k] = v * self.lambda_seg if 'loss' in k else v
        return out

    def gt_labels(self, data_samples: SampleList) -> Tensor:
        """(B, H, W) long ground-truth labels of the batch."""
        return torch.stack(
            [s.gt_sem_seg.data[0] for s in data_samples]).long()

    def _semantic(self, feats: Tensor, labels: Tensor, domain: str,
                  through_wrapper: bool) -> Tensor:
        """``L_sadv`` / ``L_sd`` term of one domain (unweighted)."""
        disc = self.semantic_discriminator if through_wrapper else \
            self.semantic_discriminator_module
        y = downsample_labels(labels, feats.shape[-2:])
        logits, classes = disc(feats, y)
        return self.semantic_discriminator_module.loss(logits, classes,
                                                       domain)

    # ------------------------------------------------------------ training
    def preprocess(self, data: Union[dict, tuple, list]) -> dict:
        """Pre-process the three halves of a
        :class:`~mmda.datasets.semi_target.SemiTargetUDADataset` batch: ``inputs`` (S),
        ``labeled_inputs`` (T_L, if any) and ``target_inputs`` (T_U)."""
        if not isinstance(data, dict) or 'inputs' not in data:
            raise KeyError('ASS.train_step: expected a batch dict with the '
                           'source `inputs`/`data_samples` (use '
                           'SemiTargetUDADataset)')
        has_tl = 'labeled_inputs' in data
        has_tu = 'target_inputs' in data
        if self.semantic_discriminator is not None and not has_tl:
            raise KeyError(
                'ASS.train_step: the semantic-level adaptation needs labelled '
                'target images (`labeled_inputs` in the batch); set '
                'num_labeled > 0 in SemiTargetUDADataset or remove '
                'semantic_discriminator')
        if self.global_discriminator is not None and not has_tu:
            raise KeyError(
                'ASS.train_step: the global adaptation needs unlabelled '
                'target images (`target_inputs` in the batch); use '
                'SemiTargetUDADataset or remove global_discriminator')
        out = dict(src=self.data_preprocessor(
            dict(inputs=data['inputs'], data_samples=data['data_samples']),
            True))
        if has_tl:
            out['tl'] = self.data_preprocessor(
                dict(inputs=data['labeled_inputs'],
                     data_samples=data['labeled_data_samples']), True)
        if has_tu:
            out['tu'] = self.data_preprocessor(
                dict(inputs=data['target_inputs'],
                     data_samples=data.get('target_data_samples')), True)
        return out

    def forward_train(self, data: dict,
                      optim_wrapper: Union[OptimWrapper,
                                           Dict[str, OptimWrapper]]
                      ) -> Dict[str, Tensor]:
        """Update the segmentor, then ``D_g`` and ``D_s`` (one step each,
        each through its own optim wrapper).

        Returns:
            dict[str, Tensor]: log variables.
        """
        wrappers = optim_wrapper if isinstance(optim_wrapper, dict) else \
            {STUDENT: optim_wrapper}
        src, tl, tu = data['src'], data.get('tl'), data.get('tu')
        has_tl = tl is not None

        ow_s = wrappers[STUDENT]
        # 'loss' = the segmentor objective of eq. 9 (the discriminator losses
        # are logged as gd.* / sd.*).
        log_vars: Dict[str, Tensor] = OrderedDict(loss=torch.zeros(()))
        d_g = self.global_discriminator_module
        d_s = self.semantic_discriminator_module
        x_s, samples_s = src['inputs'], src['data_samples']
        num_classes = self.student_module.decode_head.num_classes
        y_s = self.gt_labels(samples_s)
        check_labels(y_s, num_classes, self.ignore_index,
                     'ASS: source labels (data_samples)')
        if has_tl:
            y_tl = self.gt_labels(tl['data_samples'])
            check_labels(y_tl, num_classes, self.ignore_index,
                         'ASS: labelled target labels (labeled_data_samples)')

        # ---- 1. segmentor (eq. 9); discriminators frozen ------------------
        with ow_s.optim_context(self.student), frozen([d_g, d_s]):
            with _no_sync(self.student, skip=has_tl):
                logits_s, feats_s = self.forward_student(x_s, samples_s)
                losses = self.seg_loss(logits_s, samples_s, 'src.')
                p_s = None
                if d_g is not None:
                    p_s = self.score_maps(logits_s, x_s.shape[2:])
                    losses['src.loss_gadv'] = self.lambda_gadv * \
                        output_space_adversarial_loss(d_g(p_s), 'target')
                if d_s is not None:
                    losses['src.loss_sadv'] = self.lambda_sadv * \
                        self._semantic(feats_s, y_s, 'target',
                                       through_wrapper=False)
                loss, lv = self.parse_losses(losses)
                self.backward(loss, ow_s)
            seg_total = loss.detach()
            log_vars.update((k, v) for k, v in lv.items() if k != 'loss')
            if has_tl:
                x_tl, samples_tl = tl['inputs'], tl['data_samples']
                logits_tl, feats_tl = self.forward_student(x_tl, samples_tl)
                loss, lv = self.parse_losses(
                    self.seg_loss(logits_tl, samples_tl, 'tl.'))
                self.backward(loss, ow_s)
                seg_total = seg_total + loss.detach()
                log_vars.update((k, v) for k, v in lv.items() if k != 'loss')
            if d_g is not None:
                # T_U only trains D_g (eq. 3): no gradient, same weights as
                # P_s (before the segmentor step), as in AdaptSegNet.
                with torch.no_grad():
                    logits_tu = self.student(tu['inputs'], None, mode='tensor')
                    p_tu = self.score_maps(logits_tu, tu['inputs'].shape[2:])
        self.optimizer_step(ow_s)
        log_vars['loss'] = seg_total

        # ---- 2. discriminators (eq. 10), detached inputs -------------------
        if d_g is not None:
            ow = wrappers[GLOBAL_D]
            disc = self.global_discriminator
            with ow.optim_context(disc):
                with _no_sync(disc, skip=True):
                    l_src = self.lambda_gd * output_space_adversarial_loss(
                        disc(p_s.detach()), 'source')
                    self.backward(l_src, ow)
                l_tgt = self.lambda_gd * output_space_adversarial_loss(
                    disc(p_tu.detach()), 'target')
                self.backward(l_tgt, ow)
            self.optimizer_step(ow)
            log_vars['gd.loss_src'] = l_src.detach()
            log_vars['gd.loss_tgt'] = l_tgt.detach()
        if d_s is not None:
            ow = wrappers[SEMANTIC_D]
            disc = self.semantic_discriminator
            with ow.optim_context(disc):
                with _no_sync(disc, skip=True):
                    l_src = self.lambda_sd * self._semantic(
                        feats_s.detach(), y_s, 'source', through_wrapper=True)
                    self.backward(l_src, ow)
                l_tgt = self.lambda_sd * self._semantic(
                    feats_tl.detach(), y_tl, 'target',
                    through_wrapper=True)
                self.backward(l_tgt, ow)
            self.optimizer_step(ow)
            log_vars['sd.loss_src'] = l_src.detach()
            log_vars['sd.loss_tgt'] = l_tgt.detach()

        return log_vars
