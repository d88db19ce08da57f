# Embedded toy benchmark, "target" domain (textured "real day" with a
# per-class colour shift).
# 64x128 (HxW) street scenes labelled with Cityscapes train ids, generated on
# first use into $MMDA_DATA_ROOT/toy (or ~/.cache/mmda/toy_v1); see
# mmda/datasets/toy.py. 400 train / 100 val images per domain.
dataset_type = 'ToySegDataset'
data_root = None  # None: the default cache folder; generated if missing
toy_domain = 'target'
crop_size = (64, 128)  # (h, w), the full image
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # light scale jitter: zoom in by up to 1.5x, then crop back to 64x128
    dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        domain=toy_domain,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=10,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        domain=toy_domain,
        split='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
