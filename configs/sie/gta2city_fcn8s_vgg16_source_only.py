# Source-only VGG16-FCN8s on GTA5, the starting model of SIE self-training
# (configs/sie/gta2city_fcn8s_vgg16.py `load_from`). Subhani & Ali (ECCV 2020)
# self-train "a source-pretrained model"; the authors' code (LSE) downloads
# ready-made init models and gives no recipe, so this schedule is ours: the
# source-only recipe of configs/source_only/gta2city.py (SGD momentum 0.9,
# wd 5e-4, poly 0.9, 40k iterations, batch 2) with the FCN8s model at
# lr 1e-3 (no 10x head: FCN-8s trains all layers at one rate, Long et al.
# §4.1) and 512x1024 crops of the 1280x720 frames SIE trains on.
# Then, in order:
#   python tools/train.py configs/sie/gta2city_fcn8s_vgg16_source_only.py
#   python tools/train.py configs/sie/gta2city_fcn8s_vgg16.py \
#       --cfg-options load_from=work_dirs/gta2city_fcn8s_vgg16_source_only/iter_40000.pth
_base_ = [
    '../_base_/models/fcn8s_vgg16.py',
    '../_base_/datasets/gta.py',
    '../_base_/datasets/cityscapes_1024x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py',
]
crop_size = (512, 1024)
source_only_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='GTA5Dataset',
        data_root='data/gta/',
        ann_file='train.txt',
        data_prefix=dict(img_path='images', seg_map_path='labels'),
        pipeline=source_only_pipeline))
val_dataloader = _base_.cityscapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.cityscapes_evaluator
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4))
