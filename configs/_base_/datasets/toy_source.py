# Embedded toy benchmark, "source" domain (flat-shaded synthetic day).
# 64x128 (HxW) street scenes labelled with Cityscapes train ids, generated on
# first use into $MMDA_DATA_ROOT/toy (or ~/.cache/mmda/toy_v1); see
# mmda/datasets/toy.py. 400 train / 100 val images per domain.
dataset_type = 'ToySegDataset'
data_root = None  # None: the default cache folder; generated if missing
toy_domain = 'source'
crop_size = (64, 128)  # (h, w), the full image
# Pipeline steps (names starting with `__` stay out of the merged config).
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__flip, __pack = dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')
train_pipeline = [
    __load, __labels,
    dict(type='RandomResize', scale=(128, 64), ratio_range=(1.0, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    __flip, __pack]
test_pipeline = [__load, __labels, __pack]
__toy = dict(type=dataset_type, data_root=data_root, domain=toy_domain)
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(__toy, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    batch_size=10,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(__toy, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
