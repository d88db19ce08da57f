# Cityscapes, whole images resized to 1024x512 (w x h) for training (no
# crop; the 512x1024 images of Scherer et al. §4.2, AdaptSegNet-style
# DeepLabV2 training), evaluated at 1024x512. Same names as
# cityscapes_512x512.py (use one of the two).
_base_ = ['./cityscapes_512x512.py']
# the whole resized image (h, w), e.g. for the data preprocessor `size`
cityscapes_crop_size = (512, 1024)
cityscapes_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
cityscapes_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
cityscapes_train_dataset = dict(pipeline=cityscapes_train_pipeline)
cityscapes_target_dataset = dict(pipeline=cityscapes_target_pipeline)
cityscapes_train_dataloader = dict(dataset=cityscapes_train_dataset)
