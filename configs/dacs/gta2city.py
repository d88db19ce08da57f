# DACS, GTA5 -> Cityscapes, thesis setting (tranheden_olsson2020 §4.1.3,
# Table 4.3: 52.14 mIoU, source-only 32.85): DeepLab-v2 ResNet-101
# (COCO-pretrained, tools/model_converters/deeplabv2_coco.py), 512x512
# crops, batch 2 + 2, SGD lr 2.5e-4 (classifier x10), momentum 0.9,
# weight decay 5e-4, poly 0.9, 250k iterations, EMA alpha 0.99, tau 0.968.
_base_ = [
    './dacs_r101_coco_base.py',
    '../_base_/datasets/uda_gta2city.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_250k.py',
]
# SGD lr 2.5e-4, momentum 0.9, weight decay 5e-4 (thesis §4.1.2;
# schedule_250k.py), the classifier at lr x 10 as in the DACS code
# (optim_parameters).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'student.decode_head': dict(lr_mult=10.0)}))
# checkpoint every validation of schedule_250k (the hooks are in default_runtime)
default_hooks = dict(checkpoint=dict(interval=10000))
