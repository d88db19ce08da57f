# DACS, GTA5 -> Cityscapes with the DAFormer reproduction schedule (Hoyer et
# al. 2022, Table 1 "DACS"): 40k iterations, poly 0.9, DAFormer's data
# pipeline (GTA5 1280x720, Cityscapes 1024x512, 512x512 crops, flips) and
# its DACS augmentation parameters (colour jitter strength 0.2; their code
# jitters when U(0,1) > 0.2, i.e. with probability 0.8; blur with p 0.5).
_base_ = [
    './dacs_r101_coco_base.py',
    '../_base_/datasets/uda_gta2city_daformer.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
model = dict(strong_aug=dict(color_jitter_p=0.8, color_jitter_s=0.2))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'student.decode_head': dict(lr_mult=10.0)}),
    clip_grad=None)
