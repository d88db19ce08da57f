# ClassMix, semi-supervised Pascal VOC 2012 + SBD (thesis §4.1.2,
# Table 4.2): the COCO DeepLab-v2 of ./classmix_r101_coco_base.py, the
# labelled/unlabelled VOC splits of uda_semi_voc.py, SGD 2.5e-4 with poly 0.9
# over 40k iterations (schedule_40k.py). Not a complete config: each
# voc_<fraction>.py picks its `split`.
_base_ = [
    './classmix_r101_coco_base.py',
    '../_base_/datasets/uda_semi_voc.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
# Pascal VOC: 21 classes, 321x321 crops (thesis §4.1.2).
model = dict(
    data_preprocessor=dict(size=(321, 321)),
    segmentor=dict(decode_head=dict(num_classes=21)))
# classifier lr x10 (ClassMix code `optim_parameters`, as the DACS configs)
optim_wrapper = dict(paramwise_cfg=_base_.classmix_paramwise_cfg)
