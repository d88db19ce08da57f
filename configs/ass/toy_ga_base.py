# ASS on the embedded toy benchmark: model, optimisers, schedule and hooks
# (not a complete config: toy_ga.py, toy_ga_fcsa.py, toy_ga_csa.py add the
# data). The method is the paper's (eq. 9-10, Adam(0.9, 0.99) discriminators,
# SGD + Nesterov segmentor, poly 0.9 everywhere, lambda_gadv 0.001,
# lambda_sadv 0.01 for CSA / 1.0 for FCSA); only the optimisation is adapted
# to a from-scratch tiny model (larger segmentor lr, short schedule) and the
# output-space discriminator is halved in width (32-64-128-256) for the
# 64x128 maps. tools/benchmarks/ass_toy.py prints the Table 1-style table.
# Measured (tools/benchmarks/ass_toy.py --seeds 3, batch 4 per stream,
# target val mIoU, GA+CSA - oracle on the same labelled images): at these
# 2000 iterations +11.9 with 3 labelled target images (oracle 37.7, GA+CSA
# 49.6), +2.4 with 10 (55.1 / 57.5), +0.9 with 25 (58.3 / 59.2), positive on
# every seed; at 1000 iterations +9.3 / +0.4 / -0.1, at 250 the 10-image
# oracle was 2.3 points ahead.
_base_ = [
    '../_base_/models/deeplabv2_tiny.py',
    '../_base_/default_runtime.py',
]
model = dict(
    _delete_=True,
    type='ASS',
    segmentor={{_base_.model}},
    global_discriminator=dict(
        type='OutputSpaceDiscriminator', channels=(32, 64, 128, 256)),
    lambda_seg=1.0,
    lambda_gadv=0.001,
    lambda_gd=1.0,
    lambda_sd=1.0)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
max_iters = 2000
disc_optim = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99)),
    clip_grad=None)
poly = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    student=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4,
            nesterov=True),
        paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}),
        clip_grad=None),
    global_discriminator=disc_optim)
param_scheduler = dict(student=poly, global_discriminator=poly)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveLabeledSplitHook')]
randomness = dict(seed=0)
