# Source-only VGG16-FCN8s on SYNTHIA (RAND_CITYSCAPES), the starting model of
# configs/sie/synthia2city_fcn8s_vgg16.py. As
# ./gta2city_fcn8s_vgg16_source_only.py (our schedule: the authors release
# init models, not their recipe) with SYNTHIA's 1280x760 frames. Then:
#   python tools/train.py configs/sie/synthia2city_fcn8s_vgg16_source_only.py
#   python tools/train.py configs/sie/synthia2city_fcn8s_vgg16.py \
#       --cfg-options load_from=work_dirs/synthia2city_fcn8s_vgg16_source_only/iter_40000.pth
_base_ = ['./gta2city_fcn8s_vgg16_source_only.py',
          '../_base_/datasets/synthia.py']
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='SynthiaDataset',
        data_root='data/synthia/',
        ann_file='train.txt',
        data_prefix=dict(img_path='RGB', seg_map_path='GT/LABELS'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='Resize', scale=(1280, 760), keep_ratio=True),
            dict(type='RandomCrop', crop_size=(512, 1024),
                 cat_max_ratio=0.75),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
val_evaluator = _base_.synthia_cityscapes_evaluator
test_evaluator = val_evaluator
