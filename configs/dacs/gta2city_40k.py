# DACS, GTA5 -> Cityscapes as DAFormer re-implemented it (Hoyer et al. 2022,
# Table 1 "DACS" with DeepLabV2; their experiments.py: architecture 'dlv2red',
# backbone 'r101v1c', opt ('adamw', 6e-5, 'poly10warm'), uda 'dacs'):
# - DeepLabV2 with an ImageNet ResNet-101-V1c (deep stem, their
#   open-mmlab://resnet101_v1c), ASPP rates (6, 12) (configs/_base_/models/
#   deeplabv2red_r50-d8.py), mmseg's bilinear upsampling (align_corners=False)
#   and supervised CE averaged over all pixels (their mmseg 0.x
#   CrossEntropyLoss has no avg_non_ignore);
# - inputs RGB, ImageNet mean/std (their img_norm_cfg);
# - AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01 (schedules/
#   adamw.py), head lr x10 (experiments.py `opt_param_cfg['head']`);
#   linear warm-up over 1500 iterations from 1e-6, poly power 1.0 (schedules/
#   poly10warm.py, mmcv: warm-up factor x poly over the whole run);
# - 40k iterations, batch 2 + 2, 512x512 crops, DAFormer's data pipeline;
# - DACS (configs/_base_/uda/dacs.py): EMA alpha 0.99, tau 0.968, ClassMix,
#   colour jitter strength 0.2 with p 0.8 (`color_jitter > 0.2`), blur p 0.5.
# Departures: jitter factors / blur sigma are drawn once per batch here
# (draw='batch'); DAFormer's kornia jitter draws them per image
# (draw='image' gets closer; the on/off decision is per batch in their code).
# The backbone is mmseg's ImageNet ResNet-101-V1c (the file
# `open-mmlab://resnet101_v1c` names), read from checkpoints/ (nothing is
# downloaded at run time; docs/pretrained_weights.md).
_base_ = [
    './dacs_r101_coco_base.py',
    '../_base_/datasets/uda_gta2city_daformer.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
daformer_backbone_checkpoint = 'checkpoints/resnet101_v1c-e67eebb6.pth'
imagenet_data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True)
model = dict(
    data_preprocessor=imagenet_data_preprocessor,
    segmentor=dict(
        data_preprocessor=imagenet_data_preprocessor,
        backbone=dict(
            _delete_=True,
            type='ResNetV1c',
            depth=101,
            num_stages=4,
            strides=(1, 2, 1, 1),
            dilations=(1, 1, 2, 4),
            out_indices=(3, ),
            style='pytorch',
            contract_dilation=True,
            norm_cfg=dict(type='BN', requires_grad=True),
            norm_eval=False,
            init_cfg=dict(
                type='Pretrained', checkpoint=daformer_backbone_checkpoint)),
        decode_head=dict(
            dilations=(6, 12),
            align_corners=False,
            loss_decode=dict(avg_non_ignore=False))),
    strong_aug=dict(color_jitter_p=0.8, color_jitter_s=0.2, blur_p=0.5))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'student.decode_head': dict(lr_mult=10.0)}),
    clip_grad=None)
# mmengine schedulers chain multiplicatively: lr(t) = 6e-5 * (1e-6 + (1 -
# 1e-6) * min(t, 1500) / 1500) * (1 - t / 40000), which is mmcv's
# `warmup='linear'` + `policy='poly'` of DAFormer. (mmengine's LinearLR and
# PolyLR reach their end factor at `end - 1`, hence 1501 and 40001.)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, end_factor=1.0, begin=0,
         end=1501, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=40001,
         by_epoch=False),
]
