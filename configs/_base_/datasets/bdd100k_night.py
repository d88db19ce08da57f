# BDD100K night-time images (unlabelled target domain, Scherer et al. §4.1).
# Prepare the split files with
#   python tools/dataset_converters/bdd100k_night.py data/bdd100k
#
# Composable dataset base: every name here starts with `bdd100k_night_` (see
# gta.py for how to wire it), e.g. Dark Zurich + BDD100K night as one
# target domain:
#   target = dict(type='ConcatDataset', datasets=[
#       _base_.dark_zurich_target_dataset,
#       _base_.bdd100k_night_target_dataset])
bdd100k_night_dataset_type = 'BDD100KNightDataset'
bdd100k_night_data_root = 'data/bdd100k/'
bdd100k_night_crop_size = (512, 512)
# 1280x720 frames resized to fit 1024x512 (w x h), as Cityscapes.
bdd100k_night_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='RandomCrop', crop_size=bdd100k_night_crop_size),
    dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
bdd100k_night_target_dataset = dict(
    type=bdd100k_night_dataset_type,
    data_root=bdd100k_night_data_root,
    ann_file='night_train.txt',
    data_prefix=dict(img_path='images/100k/train'),
    pipeline=bdd100k_night_target_pipeline)
