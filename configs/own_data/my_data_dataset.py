# Your own source -> target pair (tutorial: docs/own_datasets.md).
# Only names prefixed `my_` are defined, so this file combines with any
# method config through _base_ (see dacs_my_data.py, mean_teacher_my_data.py).
#
# Layout (relative to the working directory; change the two roots):
#   data/my_source/images/train/*.jpg          labelled source images
#   data/my_source/labels_shared/train/*.png   source labels, shared class ids
#   data/my_target/images/train/*.jpg          unlabelled target images
#   data/my_target/images/val/*.jpg            target val images
#   data/my_target/labels_shared/val/*.png     target val labels, shared ids
# A label PNG has the image's file name with the label suffix and holds one
# class index per pixel (0 .. len(my_classes) - 1; 255 = ignore). Labels in
# each dataset's own ids are converted once with
# tools/dataset_converters/remap_labels.py (docs/own_datasets.md, step 2).
my_source_root = 'data/my_source'
my_target_root = 'data/my_target'
# The classes both domains share, in the order of the shared ids, and their
# display colours (RGB). The model's num_classes must equal their number.
my_classes = ('road', 'sidewalk', 'building', 'vegetation', 'sky', 'car')
my_palette = [[128, 64, 128], [244, 35, 232], [70, 70, 70], [107, 142, 35],
              [70, 130, 180], [0, 0, 142]]
my_metainfo = dict(classes=my_classes, palette=my_palette)
my_img_suffix = '.jpg'
my_seg_suffix = '.png'
# Resize to ~1024x512, then random 512x512 crops (a DACS/DAFormer-like
# recipe; on small images lower both).
my_scale = (1024, 512)  # (w, h)
my_crop_size = (512, 512)  # (h, w)
my_source_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=my_scale, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=my_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
my_target_pipeline = [  # no labels are loaded for the target
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=my_scale, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=my_crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
my_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=my_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),  # after Resize: scored at full resolution
    dict(type='PackSegInputs'),
]
my_source_train = dict(
    type='BaseSegDataset',
    data_root=my_source_root,
    data_prefix=dict(img_path='images/train',
                     seg_map_path='labels_shared/train'),
    img_suffix=my_img_suffix,
    seg_map_suffix=my_seg_suffix,
    metainfo=my_metainfo,
    pipeline=my_source_pipeline)
my_target_train = dict(
    type='BaseSegDataset',
    data_root=my_target_root,
    data_prefix=dict(img_path='images/train'),  # no seg_map_path: unlabelled
    img_suffix=my_img_suffix,
    metainfo=my_metainfo,
    pipeline=my_target_pipeline)
my_uda_train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='UDADataset', source=my_source_train,
                 target=my_target_train))
my_target_val = dict(
    type='BaseSegDataset',
    data_root=my_target_root,
    data_prefix=dict(img_path='images/val', seg_map_path='labels_shared/val'),
    img_suffix=my_img_suffix,
    seg_map_suffix=my_seg_suffix,
    metainfo=my_metainfo,
    pipeline=my_test_pipeline)
my_target_val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=my_target_val)
my_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
