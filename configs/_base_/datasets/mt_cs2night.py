# Cityscapes (labelled day) + Dark Zurich night + BDD100K night (unlabelled)
# for the mean-teacher domain extension (Scherer et al., 2021, §4.1, §4.2;
# METHODS.md "Mean-teacher domain extension"):
# - images rescaled to 512x1024 (HxW), random 256x256 crops;
# - per iteration 4 day images (the segmentor adds their 4 day->night
#   translations: 8 labelled samples, the paper's batch of 8 with "50%
#   transformed CS images as well as 50% non-transformed images", §4.3) and
#   4 night images for the consistency loss;
# - evaluation on two domains in one run (MultiDomainValLoop): Cityscapes val
#   (19 classes, prefix `day/`) and Nighttime Driving test over its 17
#   annotated classes (SubsetIoUMetric classes='gt_present', prefix
#   `night/`).
# Prepare Cityscapes with mmseg's converter (gtFine *_labelTrainIds.png) and
# the BDD100K night list with tools/dataset_converters/bdd100k_night.py.
mt_crop_size = (256, 256)
mt_cityscapes_root = 'data/cityscapes/'
mt_day_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=mt_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# Unlabelled night images: no labels, so no cat_max_ratio.
mt_night_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=mt_crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
mt_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
mt_day_train_dataset = dict(
    type='CityscapesDataset',
    data_root=mt_cityscapes_root,
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=mt_day_train_pipeline)
mt_night_train_dataset = dict(
    type='ConcatDataset',
    datasets=[
        dict(
            type='DarkZurichDataset',
            data_root='data/dark_zurich/',
            data_prefix=dict(img_path='rgb_anon/train/night'),
            pipeline=mt_night_train_pipeline),
        dict(
            type='BDD100KNightDataset',
            data_root='data/bdd100k/',
            ann_file='night_train.txt',
            data_prefix=dict(img_path='images/100k/train'),
            pipeline=mt_night_train_pipeline),
    ])
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UDADataset',
        source=mt_day_train_dataset,
        target=mt_night_train_dataset))
mt_day_val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CityscapesDataset',
        data_root=mt_cityscapes_root,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=mt_test_pipeline))
mt_night_val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='NightDrivingDataset',
        data_root='data/nighttime_driving/',
        data_prefix=dict(
            img_path='leftImg8bit/test/night',
            seg_map_path='gtCoarse_daytime_trainvaltest/test/night'),
        pipeline=mt_test_pipeline))
mt_day_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
mt_night_evaluator = dict(
    type='SubsetIoUMetric', classes='gt_present', iou_metrics=['mIoU'])
# The Runner needs val_dataloader/val_evaluator: they are the `day` domain;
# MultiDomainValLoop adds the `night` domain.
val_dataloader = mt_day_val_dataloader
val_evaluator = mt_day_evaluator
test_dataloader = mt_day_val_dataloader
test_evaluator = mt_day_evaluator
val_cfg = dict(
    type='MultiDomainValLoop',
    domains=[
        dict(prefix='day'),
        dict(prefix='night', dataloader=mt_night_val_dataloader,
             evaluator=mt_night_evaluator),
    ])
test_cfg = dict(
    type='MultiDomainTestLoop',
    domains=[
        dict(prefix='day'),
        dict(prefix='night', dataloader=mt_night_val_dataloader,
             evaluator=mt_night_evaluator),
    ])
