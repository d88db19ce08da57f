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
    '../_base_/uda/ass.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_ass_toy_2000.py',
]
# configs/_base_/uda/ass.py with the output-space discriminator halved in
# width for the 64x128 maps
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    global_discriminator=dict(
        type='OutputSpaceDiscriminator', channels=(32, 64, 128, 256)))
poly = _base_.param_scheduler
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    student=_base_.optim_wrapper,
    global_discriminator=_base_.disc_optim)
param_scheduler = dict(_delete_=True, student=poly, global_discriminator=poly)
default_hooks = dict(
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveLabeledSplitHook')]
randomness = dict(seed=0)
