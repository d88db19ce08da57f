# DAFormer (Hoyer et al., CVPR 2022) with MiT-B5: method, optimisation and
# hooks (not a complete config; gta2city.py / synthia2city.py add the data).
# Sources per value (paper section, else the authors' code file):
#   network: configs/_base_/models/mit_b5_daformer.py (Sec. 3.2)
#   self-training: DACS (Sec. 3.1) with ClassMix, pseudo-label confidence
#     weight = share of target pixels with max prob > tau = 0.968 (per batch,
#     Sec. 3.1 / eq. 3-4), colour jitter + Gaussian blur on the mixed images
#     (their mmseg/models/utils/dacs_transforms.py: jitter strength 0.2 when
#     U(0,1) > 0.2, i.e. p = 0.8; blur p 0.5, sigma U(0.15, 1.15), kernel
#     0.1 x size; configs/_base_/uda/dacs.py)
#   EMA teacher alpha 0.999 (Sec. 4.1; configs/_base_/uda/dacs_a999_fdthings.py)
#   thing-class ImageNet feature distance: lambda_FD 0.005, classes 6, 7,
#     11-18, r 0.75, last encoder stage (Sec. 3.3, 4.1; dacs_a999_fdthings.py)
#   AdamW lr 6e-5, betas (0.9, 0.999), weight decay 0.01, encoder lr x1 and
#     decoder lr x10, no weight decay on norm layers (Sec. 4.1;
#     configs/_base_/schedules/adamw.py and the paramwise_cfg of
#     configs/daformer/gta2cs_uda_warm_fdthings_rcs_croppl_a999_daformer_mitb5_s0.py)
#   warm-up 1.5k iterations linear from 1e-6 x lr, poly power 1.0 to 0 over
#     40k iterations, the two multiplied as in mmcv's poly+warmup policy
#     (Sec. 3.3 "Learning rate warmup", 4.1; configs/_base_/schedules/poly10warm.py)
#   batch 2 source + 2 target 512x512 crops, 40k iterations (Sec. 4.1)
# Not reproduced (named in docs/daformer_mic.md): the authors' pseudo-label
# crop (zero weight on the top 15 and bottom 120 target rows, their
# "croppl" switch for Cityscapes rectification artefacts). Their teacher
# runs in train mode (BatchNorm batch statistics): teacher_bn='batch' of
# configs/_base_/uda/dacs.py (the DACS default).
_base_ = [
    '../_base_/models/mit_b5_daformer.py',
    '../_base_/uda/daformer.py',
    '../_base_/default_runtime.py',
]
max_iters = 40000
warmup_iters = 1500
# the method's settings: configs/_base_/uda/daformer.py
model = dict(_base_.uda, _delete_=True, segmentor=_base_.model)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=6e-05, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'head': dict(lr_mult=10.0),
            'pos_block': dict(decay_mult=0.0),
            'norm': dict(decay_mult=0.0),
        }),
    clip_grad=None)
# Overlapping schedulers multiply (mmengine chains them): lr(i) =
# 6e-5 * warmup(i) * (1 - i / 40000), warmup linear 1e-6 -> 1 over 1.5k.
param_scheduler = [
    # mmengine's LinearLR reaches end_factor at step end - 1; end =
    # warmup + 1 gives mmcv's factor 1e-6 + (1 - 1e-6) * i / warmup
    dict(type='LinearLR', start_factor=1e-6, end_factor=1.0, begin=0,
         end=warmup_iters + 1, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=max_iters,
         by_epoch=False),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.999, interval=1),
    dict(type='UDAVisualizationHook', interval=1000, max_samples=2),
]
randomness = dict(seed=0)
