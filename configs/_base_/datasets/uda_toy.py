# Embedded toy benchmark for UDA (mmda/datasets/toy.py): labelled "source"
# renderings -> unlabelled "target" renderings (per-class colour shift and
# texture), 64x128 images generated on first use. Validation/test: the
# target val split (from toy_target.py). Target labels are not loaded for
# training.
_base_ = ['./toy_target.py']
# Source: the toy base's train pipeline (scale jitter, crop, flip); target:
# the same without labels (RandomCrop without cat_max_ratio, which needs them).
source_pipeline = _base_.train_pipeline
target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=(64, 128)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# toy_source.py's loader settings, batch 4 + 4, two workers
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='UDADataset',
        source=dict(
            type='ToySegDataset', domain='source', split='train',
            pipeline=source_pipeline),
        target=dict(
            type='ToySegDataset', domain='target', split='train',
            pipeline=target_pipeline)))
