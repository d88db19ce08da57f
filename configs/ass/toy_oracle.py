# ASS Table 1 "Oracle" on the toy benchmark: the tiny DeepLab-v2 trained only
# on the num_labeled labelled toy-target images (same images as the toy ASS
# configs for the same num_labeled / split_seed), same segmentor optimiser
# and schedule.
_base_ = [
    '../_base_/models/deeplabv2_tiny.py',
    '../_base_/datasets/ass_toy_labeled.py',
    '../_base_/default_runtime.py',
]
max_iters = 2000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveLabeledSplitHook')]
randomness = dict(seed=0)
train_dataloader = dict(dataset=dict(num_labeled=25))
