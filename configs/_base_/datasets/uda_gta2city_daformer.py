# GTA5 -> Cityscapes with DAFormer's data pipeline (Hoyer et al. 2022, their
# configs/_base_/datasets/uda_gta_to_cityscapes_512x512.py): GTA5 resized to
# 1280x720, Cityscapes to 1024x512, 512x512 crops (source with
# cat_max_ratio 0.75), horizontal flips, rare-class sampling optional.
_base_ = './uda_gta2city.py'
# Pipeline steps (names starting with `__` stay out of the merged config).
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__flip, __pack = dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')
source_train_pipeline = [
    __load, __labels, dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size=_base_.crop_size, cat_max_ratio=0.75),
    __flip, __pack]
target_train_pipeline = [
    __load, dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=_base_.crop_size), __flip, __pack]
train_dataloader = dict(
    dataset=dict(
        source=dict(pipeline=source_train_pipeline),
        target=dict(pipeline=target_train_pipeline)))
