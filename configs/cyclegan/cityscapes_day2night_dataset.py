# "Day2Night (CS)" (Scherer et al., 2021, Table 1): the Cityscapes train set
# translated to night by the CycleGAN, with the original labels. Write it
#   python tools/translate.py configs/cyclegan/city2night.py \
#       work_dirs/city2night/iter_700000.pth \
#       --src data/cityscapes/leftImg8bit/train \
#       --out data/cityscapes_day2night/leftImg8bit/train --scale 0.5
# (--scale 0.5 translates at the 1024x512 training resolution and writes
# full-size images, so the gtFine labels stay aligned).
# Composable dataset piece (names start with `day2night_cs_`), e.g. as the
# train set of a segmentation config:
#   _base_ = ['../_base_/datasets/cityscapes_512x512.py',
#             '../cyclegan/cityscapes_day2night_dataset.py', ...]
#   train_dataloader = dict(dataset=day2night_cs_train_dataset)
# or together with the day images (the "+ Daytime (CS)" row):
#   train_dataloader = dict(dataset=dict(type='ConcatDataset', datasets=[
#       day2night_cs_train_dataset, <cityscapes train dataset>]))
day2night_cs_data_root = 'data/'
day2night_cs_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
day2night_cs_train_dataset = dict(
    type='CityscapesDataset',
    data_root=day2night_cs_data_root,
    # translated images, original labels (same relative layout)
    data_prefix=dict(
        img_path='cityscapes_day2night/leftImg8bit/train',
        seg_map_path='cityscapes/gtFine/train'),
    pipeline=day2night_cs_train_pipeline)
