# Embedded toy benchmark for the mean-teacher domain extension: toy "source"
# (flat-shaded day, labelled) -> toy "night" (unlabelled); evaluation on both
# domains in one run (MultiDomainValLoop): toy source val (prefix `day/`) and
# toy night val (prefix `night/`). 64x128 images (mmda/datasets/toy.py).
# Per iteration 4 day images (+ their 4 translations in the segmentor) and 4
# night images, as configs/_base_/datasets/mt_cs2night.py.
mt_crop_size = (64, 128)
mt_day_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=mt_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
mt_night_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=mt_crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
mt_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
mt_day_train_dataset = dict(
    type='ToySegDataset', domain='source', split='train',
    pipeline=mt_day_train_pipeline)
mt_night_train_dataset = dict(
    type='ToySegDataset', domain='night', split='train',
    pipeline=mt_night_train_pipeline)
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UDADataset',
        source=mt_day_train_dataset,
        target=mt_night_train_dataset))
mt_day_val_dataloader = dict(
    batch_size=10,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ToySegDataset', domain='source', split='val',
        pipeline=mt_test_pipeline))
mt_night_val_dataloader = dict(
    batch_size=10,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ToySegDataset', domain='night', split='val',
        pipeline=mt_test_pipeline))
# The toy scenes use 10 of the 19 classes: both domains are averaged over the
# classes present in their labels (IoUMetric would count a class that is
# predicted but absent from the toy as 0).
mt_day_evaluator = dict(
    type='SubsetIoUMetric', classes='gt_present', iou_metrics=['mIoU'])
mt_night_evaluator = dict(
    type='SubsetIoUMetric', classes='gt_present', iou_metrics=['mIoU'])
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
