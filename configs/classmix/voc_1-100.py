# ClassMix, semi-supervised Pascal VOC 2012 (+SBD) with 1/100 of the labels (thesis
# Table 4.2). Splits: python tools/misc/make_semi_splits.py voc data/VOCdevkit/VOC2012 --seed 0
_base_ = [
    './classmix_r101_coco_base.py',
    '../_base_/datasets/uda_semi_voc.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
split = '1-100_seed0'
train_dataloader = dict(
    dataset=dict(
        source=dict(ann_file='splits/1-100_seed0_labeled.txt'),
        target=dict(ann_file='splits/1-100_seed0_unlabeled.txt')))
# Pascal VOC: 21 classes, 321x321 crops (thesis §4.1.2).
model = dict(
    data_preprocessor=dict(size=(321, 321)),
    segmentor=dict(decode_head=dict(num_classes=21)))
# classifier lr x10 (ClassMix code `optim_parameters`, as the DACS configs)
optim_wrapper = dict(paramwise_cfg={{_base_.classmix_paramwise_cfg}})
