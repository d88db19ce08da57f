# Source-only baseline, SYNTHIA (RAND_CITYSCAPES) -> Cityscapes: DeepLab-v2
# ResNet-101 trained on SYNTHIA labels only, evaluated on Cityscapes val with
# the 19-class mIoU and the 16- and 13-class mIoUs of the UDA literature
# (keys `mIoU`, `16cls/mIoU`, `13cls/mIoU`; docs/methods.md#dataset-formats).
# Compare with ./synthia2city_oracle.py.
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/synthia.py',
    '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
train_dataloader = {{_base_.synthia_train_dataloader}}
val_dataloader = {{_base_.cityscapes_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.synthia_cityscapes_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
