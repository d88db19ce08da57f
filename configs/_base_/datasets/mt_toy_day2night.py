# Embedded toy benchmark for the mean-teacher domain extension: toy "source"
# (flat-shaded day, labelled) -> toy "night" (unlabelled); evaluation on both
# domains in one run (MultiDomainValLoop): toy source val (prefix `day/`) and
# toy night val (prefix `night/`). 64x128 images (mmda/datasets/toy.py).
# Per iteration 4 day images (+ their 4 translations in the segmentor) and 4
# night images, as configs/_base_/datasets/mt_cs2night.py.
mt_crop_size = (64, 128)
# Pipeline steps (names starting with `__` stay out of the merged config):
# scale jitter, crop (with cat_max_ratio where labels are loaded), flip.
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__resize = dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
                keep_ratio=True)
__crop = dict(type='RandomCrop', crop_size=mt_crop_size)
__flip, __pack = dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')
mt_day_train_pipeline = [
    __load, __labels, __resize, dict(__crop, cat_max_ratio=0.75), __flip,
    __pack]
mt_night_train_pipeline = [__load, __resize, __crop, __flip, __pack]
mt_test_pipeline = [__load, __labels, __pack]
__day, __night = dict(type='ToySegDataset', domain='source'), dict(
    type='ToySegDataset', domain='night')
mt_day_train_dataset = dict(
    __day, split='train', pipeline=mt_day_train_pipeline)
mt_night_train_dataset = dict(
    __night, split='train', pipeline=mt_night_train_pipeline)
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
    train_dataloader,
    batch_size=10,
    num_workers=1,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(__day, split='val', pipeline=mt_test_pipeline))
mt_night_val_dataloader = dict(
    mt_day_val_dataloader,
    dataset=dict(__night, split='val', pipeline=mt_test_pipeline))
# The toy scenes use 10 of the 19 classes: both domains are averaged over the
# classes present in their labels (IoUMetric would count a class that is
# predicted but absent from the toy as 0).
mt_day_evaluator = dict(
    type='SubsetIoUMetric', classes='gt_present', iou_metrics=['mIoU'])
mt_night_evaluator = mt_day_evaluator
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
test_cfg = dict(val_cfg, type='MultiDomainTestLoop')
