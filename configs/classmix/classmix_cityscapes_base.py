# ClassMix, semi-supervised Cityscapes (thesis §4.1.2, Table 4.1): the COCO
# DeepLab-v2 of ./classmix_r101_coco_base.py, the labelled/unlabelled
# Cityscapes splits of uda_semi_cityscapes.py, SGD 2.5e-4 with poly 0.9 over
# 40k iterations (schedule_40k.py). Not a complete config: each
# cityscapes_<fraction>.py picks its `split`.
_base_ = [
    './classmix_r101_coco_base.py',
    '../_base_/datasets/uda_semi_cityscapes.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
# Cityscapes mean, not ImageNet's (thesis §4.3.1; ClassMix code
# data/cityscapes_loader.py), on the BGR inputs of the Caffe DeepLab.
model = dict(
    data_preprocessor=dict(mean=_base_.classmix_cityscapes_mean))
# classifier lr x10 (ClassMix code `optim_parameters`, as the DACS configs)
optim_wrapper = dict(paramwise_cfg=_base_.classmix_paramwise_cfg)
