# Source-only baseline, Cityscapes (day) -> Nighttime Driving test (50
# coarsely labelled night images): DeepLab-v2 ResNet-101 trained on labelled
# Cityscapes, evaluated over the 17 classes annotated in that set
# (SubsetIoUMetric classes='gt_present'), as Scherer et al. (2021, §4.1,
# Table 1: baseline 35.0 night mIoU). There is no night oracle (no labelled
# night training set); the day oracle is ./gta2city_oracle.py.
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/datasets/night_driving.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
train_dataloader = {{_base_.cityscapes_train_dataloader}}
val_dataloader = {{_base_.night_driving_test_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.night_driving_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
