# Cityscapes val as the evaluation set of the real UDA / semi-supervised data
# bases (uda_gta2city.py, uda_semi_cityscapes.py, ass_gta2city.py,
# ass_city_labeled.py, mt_cs2night.py): images resized to 1024x512 (w x h,
# keeping the ratio), labels loaded at full resolution so that the
# predictions are resized back to them (DACS thesis §4.1.3; the AdaptSegNet
# evaluation ASS follows, Wang et al. 2020 §4.1), 19-class mIoU, batch 1.
# Also the pieces those bases share: `cityscapes_train` (the labelled train
# split; a child adds its pipeline) and the train loader's sampler and
# workers (a child adds its dataset and, where it differs, its batch size).
cityscapes_root = 'data/cityscapes/'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
cityscapes_train = dict(
    type='CityscapesDataset',
    data_root=cityscapes_root,
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'))
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        cityscapes_train,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
