# Oracle for SYNTHIA -> Cityscapes: the model and schedule of
# ./synthia2city.py trained on the labelled Cityscapes train split instead,
# evaluated the same way (19, 16 and 13 classes) so that the numbers are
# directly comparable. (synthia.py is listed only for its evaluator.)
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/synthia.py',
    '../_base_/datasets/cityscapes_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
train_dataloader = {{_base_.cityscapes_train_dataloader}}
val_dataloader = {{_base_.cityscapes_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.synthia_cityscapes_evaluator}}
test_evaluator = val_evaluator
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
