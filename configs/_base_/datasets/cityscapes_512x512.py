# Cityscapes, images resized to 1024x512 (w x h), 512x512 random crops (DACS
# thesis §4.1.3 / DAFormer), evaluated at 1024x512. Prepare with mmseg's
#   python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
# (in mmsegmentation's repository; needs `pip install cityscapesscripts`).
#
# Composable dataset base: every name here starts with `cityscapes_` (see
# gta.py for how to wire it). Provided pieces:
#   cityscapes_train_dataset, cityscapes_train_dataloader: labelled train
#       split (oracle, or the source domain, e.g. Scherer et al.)
#   cityscapes_target_dataset: unlabelled train images (UDA target domain)
#   cityscapes_val_dataset, cityscapes_val_dataloader: val split with labels
#   cityscapes_evaluator: 19-class mIoU
cityscapes_dataset_type = 'CityscapesDataset'
cityscapes_data_root = 'data/cityscapes/'
cityscapes_crop_size = (512, 512)
# Pipeline steps (names starting with `__` stay out of the merged config).
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__resize = dict(type='Resize', scale=(1024, 512), keep_ratio=True)
__flip, __pack = dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')
cityscapes_train_pipeline = [
    __load, __labels, __resize,
    dict(type='RandomCrop', crop_size=cityscapes_crop_size,
         cat_max_ratio=0.75),
    __flip, __pack]
# Target domain: no labels are loaded, so the crop cannot (and must not) use
# the target ground truth (no cat_max_ratio).
cityscapes_target_pipeline = [
    __load, __resize, dict(type='RandomCrop', crop_size=cityscapes_crop_size),
    __flip, __pack]
# labels are loaded after the resize: predictions are resized back to the
# original label size
cityscapes_test_pipeline = [__load, __resize, __labels, __pack]
__cityscapes = dict(type=cityscapes_dataset_type, data_root=cityscapes_data_root)
cityscapes_train_dataset = dict(
    __cityscapes,
    data_prefix=dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline=cityscapes_train_pipeline)
cityscapes_target_dataset = dict(
    __cityscapes,
    data_prefix=dict(img_path='leftImg8bit/train'),
    pipeline=cityscapes_target_pipeline)
cityscapes_val_dataset = dict(
    __cityscapes,
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
    pipeline=cityscapes_test_pipeline)
cityscapes_train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=cityscapes_train_dataset)
cityscapes_val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=cityscapes_val_dataset)
cityscapes_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
