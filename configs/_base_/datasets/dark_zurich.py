# Dark Zurich (Sakaridis et al.) through mmseg's DarkZurichDataset: night
# images `rgb_anon/{train,val}/night/GOPRxxxx/*_rgb_anon.png`, val labels
# `gt/val/night/GOPRxxxx/*_gt_labelTrainIds.png` (as downloaded; no
# conversion needed).
#
# Composable dataset base: every name here starts with `dark_zurich_` (see
# gta.py for how to wire it). Provided pieces:
#   dark_zurich_target_dataset: unlabelled train night images (UDA target,
#       Scherer et al. §4.1)
#   dark_zurich_val_dataset, dark_zurich_val_dataloader: the 50 labelled val
#       night images
#   dark_zurich_evaluator: 19-class mIoU
dark_zurich_dataset_type = 'DarkZurichDataset'
dark_zurich_data_root = 'data/dark_zurich/'
dark_zurich_crop_size = (512, 512)
# 1920x1080 frames resized to fit 1024x512 (w x h), as Cityscapes.
# Pipeline steps (names starting with `__` stay out of the merged config).
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__resize = dict(type='Resize', scale=(1024, 512), keep_ratio=True)
__flip, __pack = dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')
dark_zurich_target_pipeline = [
    __load, __resize, dict(type='RandomCrop', crop_size=dark_zurich_crop_size),
    __flip, __pack]
dark_zurich_test_pipeline = [__load, __resize, __labels, __pack]
__dark_zurich = dict(
    type=dark_zurich_dataset_type, data_root=dark_zurich_data_root)
dark_zurich_target_dataset = dict(
    __dark_zurich,
    data_prefix=dict(img_path='rgb_anon/train/night'),
    pipeline=dark_zurich_target_pipeline)
dark_zurich_val_dataset = dict(
    __dark_zurich,
    data_prefix=dict(
        img_path='rgb_anon/val/night', seg_map_path='gt/val/night'),
    pipeline=dark_zurich_test_pipeline)
dark_zurich_val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dark_zurich_val_dataset)
dark_zurich_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
