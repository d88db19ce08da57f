# Oracle for GTA5 -> Cityscapes: the model and schedule of ./gta2city.py
# trained on the labelled Cityscapes train split (2975 images) instead,
# evaluated on Cityscapes val (the upper bound of adaptation; ~65-70 mIoU for
# DeepLab-v2 in the UDA literature, docs/methods.md
# #calibrating-the-toy-benchmark).
# The recipe of every real source-only config: the others are deltas over
# this file that swap the training set (./gta2city.py, ./synthia2city.py)
# or the evaluation set (./city2darkzurich.py, ./city2nightdriving.py).
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
train_dataloader = _base_.cityscapes_train_dataloader
val_dataloader = _base_.cityscapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.cityscapes_evaluator
test_evaluator = val_evaluator
# SGD lr 2.5e-4, momentum 0.9, wd 5e-4, poly 0.9 (schedule_40k.py); the
# classifier learns 10x faster as in the DeepLab / DACS code (docs/methods.md
# #dacs, thesis §4.1.3).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
