# DACS on the embedded toy benchmark: model, schedule and hooks (not a
# complete config; toy_dacs.py and toy_dacs_night.py add the data).
# The method is the thesis' DACS (ClassMix InterMix, colour jitter + blur
# with p 0.5, EMA teacher alpha 0.99); adapted to a from-scratch tiny model:
# Adam 1e-3 / poly over 600 iterations (the toy baselines' optimisation) and
# a constant pseudo-label weight (see below) -- tools/benchmarks/dacs_toy.py
# measures the table.
_base_ = [
    '../_base_/models/deeplabv2_tiny.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_toy_600.py',
]
model = dict(
    _delete_=True,
    type='DACS',
    segmentor={{_base_.model}},
    teacher=True,
    eval_model='student',
    mix=dict(type='ClassMix', proportion=0.5),
    mix_domain='inter',
    strong_aug=dict(
        type='StrongAugmentation',
        color_jitter_p=0.5,
        color_jitter_s=0.2,
        blur_p=0.5,
        blur_sigma=(0.15, 1.15),
        blur_kernel_ratio=0.1,
        # one draw per batch, p 0.5 each (thesis §5.2.1); the DACS code
        # uses jitter p 0.8 / strength 0.25; draw='image' per image
        draw='batch'),
    # Tuned for the toy (tools/benchmarks/dacs_toy.py): the tiny from-scratch
    # model's teacher rarely reaches the thesis' 0.968 confidence, so the
    # threshold-uniform weight (eq. 2.15) stays at 0.1-0.2 and starves the
    # target loss (seed 0: 35.4 mIoU vs 34.5 source-only); the constant
    # weight 1 of the thesis' ablation (Table 5.1, "constant") closes the
    # gap. The thesis default is toy_dacs_threshold_uniform.py.
    # reduce='batch': when a derived config uses 'threshold_uniform', one
    # weight per batch as the thesis (§5.2.1) and the DACS code.
    pseudo_label=dict(mode='none', threshold=0.968, reduce='batch'),
    # teacher BatchNorm with the target batch's statistics, buffers untouched
    # (the DACS code's EMA model runs in train mode); 'running' = eval mode.
    teacher_bn='batch',
    soft_targets=False,
    dist_align=None,
    mix_loss_weight=1.0)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
# Optimisation of the toy source-only/oracle baselines
# (configs/source_only/toy_*.py): configs/_base_/schedules/schedule_toy_600.py
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.99, interval=1),
    dict(type='UDAVisualizationHook', interval=250, max_samples=2),
]
randomness = dict(seed=0)
