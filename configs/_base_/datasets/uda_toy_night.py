# Embedded toy benchmark, day "source" -> "night" target (darkened, tinted,
# noisy renderings with lights; mmda/datasets/toy.py). Validation/test: the
# night val split (from toy_night.py). Target labels are not loaded for
# training.
_base_ = ['./toy_night.py']
# Source: the toy base's train pipeline (scale jitter, crop, flip); target:
# the same without labels (RandomCrop without cat_max_ratio, which needs them).
source_pipeline = {{_base_.train_pipeline}}
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=(64, 128)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UDADataset',
        source=dict(
            type='ToySegDataset', domain='source', split='train',
            pipeline=source_pipeline),
        target=dict(
            type='ToySegDataset', domain='night', split='train',
            pipeline=target_pipeline)))
