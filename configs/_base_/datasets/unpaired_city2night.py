# Unpaired day (A) / night (B) images for CycleGAN training (Scherer et al.,
# 2021, §4.1: "for the image-to-image translation training, we use all images
# of the CS dataset as daytime images and all nighttime images of the BDD and
# DZ dataset").
#   day:   data/cityscapes/leftImg8bit/train/**/*_leftImg8bit.png
#   night: data/dark_zurich/rgb_anon/train/night/**/*_rgb_anon.png
#          data/bdd100k/images/100k/train/<name>.jpg for the names listed in
#          data/bdd100k/night_train.txt, written by
#          python tools/dataset_converters/bdd100k_night.py data/bdd100k
# Add more day sources (e.g. leftImg8bit/test) to `unpaired_day_sources`.
# Images are rescaled to fit 1024x512 (w x h) and cropped to 256x256, the
# resolution and crop of the paper's segmentation training (§4.2; the paper
# gives no separate crop for the translator).
unpaired_dataset_type = 'UnpairedImageDataset'
unpaired_crop_size = (256, 256)
unpaired_day_sources = [
    dict(data_root='data/cityscapes', img_dir='leftImg8bit/train',
         suffix='_leftImg8bit.png'),
]
# "All images of the CS dataset as daytime images" (§4.1): every
# Cityscapes image folder except val (the day set Table 1 reports; append it
# to follow "all" literally). configs/cyclegan/city2night_all_cs.py uses it;
# city2night.py keeps the 2975 train images (train_extra is a separate
# 44 GB download).
unpaired_day_sources_all_cs = [
    dict(data_root='data/cityscapes', img_dir=f'leftImg8bit/{split}',
         suffix='_leftImg8bit.png')
    for split in ('train', 'train_extra', 'test')
]
unpaired_night_sources = [
    dict(data_root='data/dark_zurich', img_dir='rgb_anon/train/night',
         suffix='_rgb_anon.png'),
    dict(data_root='data/bdd100k', img_dir='images/100k/train',
         ann_file='night_train.txt', suffix='.jpg'),
]
unpaired_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=unpaired_crop_size),
    dict(type='RandomFlip', prob=0.5),
]
unpaired_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    # Cityscapes (1024x512) and night (910x512) frames share one size after
    # this crop, so both domains batch together.
    dict(type='CenterCrop', crop_size=(896, 512)),  # (w, h)
]
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=unpaired_dataset_type,
        domain_a=dict(name='day', sources=unpaired_day_sources),
        domain_b=dict(name='night', sources=unpaired_night_sources),
        pipeline=unpaired_train_pipeline))
# Validation: 20 Cityscapes val images vs 20 Dark Zurich val night images,
# translated by the EMA generators; grids go to the visualizer.
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=unpaired_dataset_type,
        domain_a=dict(name='day', sources=[
            dict(data_root='data/cityscapes', img_dir='leftImg8bit/val',
                 suffix='_leftImg8bit.png')]),
        domain_b=dict(name='night', sources=[
            dict(data_root='data/dark_zurich', img_dir='rgb_anon/val/night',
                 suffix='_rgb_anon.png')]),
        max_samples=20,
        test_mode=True,
        pipeline=unpaired_test_pipeline))
val_evaluator = dict(type='TranslationMetric')
