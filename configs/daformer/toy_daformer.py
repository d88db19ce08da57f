# DAFormer on the embedded toy benchmark (mmda/datasets/toy.py), CPU-sized:
#   python tools/train.py configs/daformer/toy_daformer.py
# A tiny MiT + DAFormer decoder (configs/_base_/models/mit_tiny_daformer.py)
# trained from scratch with DAFormer's training strategy as far as it
# carries over to a from-scratch toy:
# - kept: DACS ClassMix self-training, EMA 0.999, thing-class feature
#   distance (lambda 0.005, r 0.75; the toy's thing classes are traffic
#   sign 7, person 11 and car 13), linear warm-up then poly 1.0, AdamW;
# - adapted (the toy DACS's choices, configs/dacs/toy_dacs_base.py, so that
#   toy DAFormer and toy DACS differ in the network and DAFormer's
#   additions only): 600 iterations, lr 1e-3 without the decoder x10 (no
#   pretrained encoder to protect), warm-up shortened in proportion
#   (1.5k/40k of 600 = 23 iterations), constant pseudo-label weight (the
#   from-scratch teacher rarely reaches tau = 0.968), colour jitter and
#   blur p 0.5;
# - the "ImageNet" encoder of the feature distance is the random
#   initialisation (there is no pretrained tiny MiT): the loss then only
#   regularises towards the initial features. The last stage of a 64x128
#   image is 2x4 positions of 32x32 pixels, so the thing mask (>= 75 % of a
#   patch) is rarely non-empty; ``src.fd_mask_ratio`` in the log shows it.
# - rare-class sampling needs class statistics the toy generator does not
#   write, so it is off.
_base_ = [
    '../_base_/models/mit_tiny_daformer.py',
    '../_base_/uda/daformer.py',
    '../_base_/default_runtime.py',
    '../_base_/datasets/uda_toy.py',
    '../_base_/schedules/schedule_toy_600.py',
]
max_iters = _base_.max_iters
warmup_iters = 23
# the method's settings: configs/_base_/uda/daformer.py
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    # the toy DACS's choices (configs/dacs/toy_dacs_base.py): jitter p 0.5,
    # constant pseudo-label weight
    strong_aug=dict(_base_.uda.strong_aug, color_jitter_p=0.5),
    pseudo_label=dict(mode='none', threshold=0.968))
optim_wrapper = dict(
    optimizer=dict(type='AdamW', weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.0),
            'norm': dict(decay_mult=0.0),
        }),
    clip_grad=None)
param_scheduler = [
    # mmengine's LinearLR reaches end_factor at step end - 1; end =
    # warmup + 1 gives mmcv's factor 1e-6 + (1 - 1e-6) * i / warmup
    dict(type='LinearLR', start_factor=1e-6, end_factor=1.0, begin=0,
         end=warmup_iters + 1, by_epoch=False),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=max_iters,
         by_epoch=False),
]
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.999, interval=1),
    dict(type='UDAVisualizationHook', interval=250, max_samples=2),
]
randomness = dict(seed=0)
