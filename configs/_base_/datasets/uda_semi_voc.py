# Semi-supervised Pascal VOC 2012 (+ SBD "aug" labels, 10582 training images)
# for ClassMix (thesis §3.3.2, §4.1.2): 321x321 crops, random scaling
# 0.5-1.5 and horizontal flips for labelled and unlabelled images, batch 10
# labelled + 10 unlabelled; evaluation on the 1449 val images at their
# original size.
# Prepare SegmentationClassAug with mmseg's tools/dataset_converters/voc_aug.py
# and the splits with
#   python tools/misc/make_semi_splits.py voc data/VOCdevkit/VOC2012 \
#       --fractions 1/100 1/50 1/20 1/8 1/4 --seed 0
voc_root = 'data/VOCdevkit/VOC2012/'
split = '1-8_seed0'
crop_size = (321, 321)
# Pipeline steps (names starting with `__` stay out of the merged config).
# VOC images are at most 500 px: fitting them into 500r x 500r with
# r ~ U(0.5, 1.5) scales them by about r (ClassMix code); then crop and flip,
# the same for labelled and unlabelled images.
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__augment = [
    dict(type='RandomResize', scale=(500, 500), ratio_range=(0.5, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
__pack = dict(type='PackSegInputs')
labeled_pipeline = [__load, __labels, *__augment, __pack]
unlabeled_pipeline = [__load, *__augment, __pack]
test_pipeline = [__load, __labels, __pack]
voc_common = dict(
    type='PascalVOCDataset',
    data_root=voc_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'))
train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UDADataset',
        source=dict(
            voc_common,
            ann_file=f'splits/{split}_labeled.txt',
            pipeline=labeled_pipeline),
        target=dict(
            voc_common,
            ann_file=f'splits/{split}_unlabeled.txt',
            pipeline=unlabeled_pipeline)))
# evaluation on the 1449 val images (SegmentationClass labels) at their
# original size, batch 1
val_dataloader = dict(
    train_dataloader,
    batch_size=1,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        voc_common,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
