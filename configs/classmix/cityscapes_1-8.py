# ClassMix, semi-supervised Cityscapes with 1/8 (372 images) of the labels (thesis
# Table 4.1: 61.35 mIoU, baseline 54.84). Splits: python tools/misc/make_semi_splits.py cityscapes data/cityscapes --seed 0
_base_ = [
    './classmix_r101_coco_base.py',
    '../_base_/datasets/uda_semi_cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
split = '1-8_seed0'
train_dataloader = dict(
    dataset=dict(
        source=dict(ann_file='splits/1-8_seed0_labeled.txt'),
        target=dict(ann_file='splits/1-8_seed0_unlabeled.txt')))
# Cityscapes mean, not ImageNet's (thesis §4.3.1; ClassMix code
# data/cityscapes_loader.py), on the BGR inputs of the Caffe DeepLab.
model = dict(
    data_preprocessor=dict(mean={{_base_.classmix_cityscapes_mean}}))
# classifier lr x10 (ClassMix code `optim_parameters`, as the DACS configs)
optim_wrapper = dict(paramwise_cfg={{_base_.classmix_paramwise_cfg}})
