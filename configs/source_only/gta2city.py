# Source-only baseline, GTA5 -> Cityscapes: DeepLab-v2 ResNet-101 trained on
# GTA5 labels only, evaluated on Cityscapes val (19 classes). The reference
# numbers are source-only 32.85 mIoU in the DACS thesis (Table 4.3, COCO
# init, 250k iterations) and ~33-37 in later papers (docs/methods.md
# #calibrating-the-toy-benchmark); compare with ./gta2city_oracle.py.
# For the COCO-pretrained DeepLab of the DACS/AdaptSegNet code replace the
# model base by ../_base_/models/deeplabv2_r101_coco.py.
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/gta.py',
    '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
train_dataloader = {{_base_.gta_train_dataloader}}
val_dataloader = {{_base_.cityscapes_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.cityscapes_evaluator}}
test_evaluator = val_evaluator
# SGD lr 2.5e-4, momentum 0.9, wd 5e-4, poly 0.9 (schedule_40k.py); the
# classifier learns 10x faster as in the DeepLab / DACS code (docs/methods.md
# #dacs, thesis §4.1.3).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
