# SYNTHIA RAND_CITYSCAPES (labelled source domain). Prepare with
#   python tools/dataset_converters/synthia.py data/synthia --nproc 8
#
# Composable dataset base: every name here starts with `synthia_` (see
# gta.py for how to wire it). SYNTHIA→Cityscapes is reported over 16 and
# 13 classes (docs/methods.md#dataset-formats; DACS thesis Table 4.4):
#   val_evaluator = _base_.synthia_cityscapes_evaluator
# reports the 19-class mIoU (key `mIoU`) and the 16 / 13-class ones
# (`16cls/mIoU`, `13cls/mIoU`).
synthia_dataset_type = 'SynthiaDataset'
synthia_data_root = 'data/synthia/'
synthia_crop_size = (512, 512)
synthia_train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    # SYNTHIA frames are 1280x760 (w x h); kept at that size as in the DACS
    # thesis §4.1.3 (the resize only matters for other sizes), 512x512 crops.
    dict(type='Resize', scale=(1280, 760), keep_ratio=True),
    dict(type='RandomCrop', crop_size=synthia_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
synthia_train_dataset = dict(
    type=synthia_dataset_type,
    data_root=synthia_data_root,
    # written by the converter; '' = every image of RGB/.
    ann_file='train.txt',
    data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
    pipeline=synthia_train_pipeline)
synthia_train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=synthia_train_dataset)
# Evaluation of a SYNTHIA-trained model (on Cityscapes val): 19, 16 and 13
# classes in one pass.
synthia_cityscapes_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='SubsetIoUMetric', classes='synthia16', iou_metrics=['mIoU'],
         prefix='16cls'),
    dict(type='SubsetIoUMetric', classes='synthia13', iou_metrics=['mIoU'],
         prefix='13cls'),
]
