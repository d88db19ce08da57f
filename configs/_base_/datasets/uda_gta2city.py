# GTA5 (labelled source) -> Cityscapes (unlabelled target), DACS thesis setting
# (tranheden_olsson2020 thesis §4.1.3; docs/methods.md#dacs):
# - GTA5 images resized to 760x1280 (HxW), Cityscapes to 512x1024;
# - random 512x512 crops of both, batch 2 + 2, no other augmentation (§3.4,
#   §4.1.2: "we do not use any [augmentation] for the Cityscapes dataset";
#   colour jitter and blur are applied to the mixed images in the segmentor);
# - evaluation on Cityscapes val at 512x1024 (predictions resized back to the
#   full-resolution labels).
# Prepare GTA5 with tools/dataset_converters/gta.py (train ids, train.txt and
# the rare-class statistics) and Cityscapes with mmseg's converter
# (gtFine *_labelTrainIds.png).
_base_ = './cityscapes_val.py'  # evaluation: Cityscapes val at 1024x512
crop_size = (512, 512)
gta_root = 'data/gta/'
source_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 760), keep_ratio=False),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
target_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type='UDADataset',
        source=dict(
            type='GTA5Dataset',
            data_root=gta_root,
            ann_file='train.txt',
            pipeline=source_train_pipeline),
        # the unlabelled target: the loaded labels are not used
        target=dict(_base_.cityscapes_train, pipeline=target_train_pipeline)))
