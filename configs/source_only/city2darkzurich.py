# Source-only baseline, Cityscapes (day) -> Dark Zurich (night): DeepLab-v2
# ResNet-101 trained on labelled Cityscapes, evaluated on the 50 labelled Dark
# Zurich val night images (19 classes). Scherer et al. (2021, Table 1) report
# this "baseline" as 68.8 mIoU on Cityscapes and 35.0 on night images (their
# DeepLab-v2 VGG16, Adam 1e-4, batch 8 of 256x256 crops, 50k iterations; here
# the shared ResNet-101 / SGD 40k setting of the other source-only configs).
# The day score is the oracle of ./gta2city_oracle.py. There is no night
# oracle: Dark Zurich has no labelled night training set.
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/datasets/dark_zurich.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
train_dataloader = {{_base_.cityscapes_train_dataloader}}
val_dataloader = {{_base_.dark_zurich_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.dark_zurich_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
