# ASS Table 1 "Oracle": the same DeepLab-v2 ResNet-101 (COCO init) trained
# only on the labelled Cityscapes subset T_L (no source, no adaptation), with
# the segmentor optimiser and schedule of the ASS configs.
_base_ = [
    '../_base_/models/deeplabv2_r101_coco.py',
    '../_base_/datasets/ass_city_labeled.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_ass_150k.py',
]
# the model base's Caffe input normalisation; whole 1024x512 images padded
# to a multiple of 8, as the ASS configs
model = dict(data_preprocessor=dict(size=None, size_divisor=8))
default_hooks = dict(checkpoint=dict(interval=5000))
custom_hooks = [dict(type='SaveLabeledSplitHook')]
