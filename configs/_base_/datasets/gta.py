# GTA5 (labelled source domain). Prepare with
#   python tools/dataset_converters/gta.py data/gta --nproc 8
#
# Composable dataset base: every name here starts with `gta_`, so it can be
# listed in `_base_` together with the other real-dataset bases (e.g. a
# target/evaluation base such as cityscapes_512x512.py) without mmengine's
# "Duplicate key is not allowed among bases" error. Wire it in the child:
#   _base_ = ['../_base_/datasets/gta.py',
#             '../_base_/datasets/cityscapes_512x512.py', ...]
#   train_dataloader = _base_.gta_train_dataloader
#   val_dataloader = _base_.cityscapes_val_dataloader
#   val_evaluator = _base_.cityscapes_evaluator
gta_dataset_type = 'GTA5Dataset'
gta_data_root = 'data/gta/'
gta_crop_size = (512, 512)
gta_train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    # GTA5 frames (1914x1052) resized to 1280x720 (w x h) as in DAFormer's
    # DACS reproduction (docs/methods.md#dacs; the thesis §4.1.3 uses
    # 1280x760), then 512x512 random crops.
    dict(type='Resize', scale=(1280, 720), keep_ratio=True),
    dict(type='RandomCrop', crop_size=gta_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
gta_train_dataset = dict(
    type=gta_dataset_type,
    data_root=gta_data_root,
    # written by the converter; lists the converted samples (without the ones
    # skipped with --size-mismatch skip). '' = every image of images/.
    ann_file='train.txt',
    data_prefix=dict(img_path='images', seg_map_path='labels'),
    pipeline=gta_train_pipeline)
gta_train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=gta_train_dataset)
