# ASS Table 1 "Oracle": the same DeepLab-v2 ResNet-101 (COCO init) trained
# only on the labelled Cityscapes subset T_L (no source, no adaptation), with
# the segmentor optimiser and schedule of the ASS configs.
_base_ = [
    '../_base_/models/deeplabv2_r101_coco.py',
    '../_base_/datasets/ass_city_labeled.py',
    '../_base_/default_runtime.py',
]
# the model base's Caffe input normalisation; whole 1024x512 images padded
# to a multiple of 8, as the ASS configs
model = dict(data_preprocessor=dict(size=None, size_divisor=8))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4,
        nesterov=True),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=250000,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=150000,
                 val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=5000))
custom_hooks = [dict(type='SaveLabeledSplitHook')]
