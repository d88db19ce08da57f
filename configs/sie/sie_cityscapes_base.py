# Shared settings of the scale-invariant-examples (SIE) configs with
# Cityscapes as target (Subhani & Ali, ECCV 2020;
# docs/methods.md#scale-invariant-examples; authors' code "LSE"). A child
# adds the model (wrapped in SIE with ./sie_model_base.py's losses), the
# source train_dataloader and the optimizer. Self-training starts from a *source-trained* model: set
# `load_from` to a source-only checkpoint of the same architecture (e.g.
# trained with the source-only configs), or `train_cfg.source_only_iters`.
_base_ = [
    '../_base_/datasets/cityscapes_1024x512.py',
    '../_base_/default_runtime.py',
    './sie_model_base.py',
]
# Target images to pseudo-label: Cityscapes train at 512x1024 (h x w), no
# random transform (the authors resize to 1024x512 and predict whole images).
sie_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='PackSegInputs'),
]
# Generated examples are already 512x1024 image/label PNGs.
sie_example_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_cfg = dict(
    type='SelfTrainingLoop',
    target_dataloader=dict(
        batch_size=1,
        num_workers=4,
        dataset=dict(
            type='CityscapesDataset',
            data_root='data/cityscapes/',
            data_prefix=dict(img_path='leftImg8bit/train'),
            pipeline=sie_target_pipeline)),
    example_dataloader=dict(
        batch_size=1,  # paper / authors' code: batch 1
        num_workers=4,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(type='PseudoLabelDataset',
                     pipeline=sie_example_pipeline)),
    # p = 0.1, 0.15, ..., 0.4 (7 rounds), keep floor(N_c * p / 19) per class
    init_portion=0.1,
    portion_step=0.05,
    max_portion=0.4,
    epochs_per_round=2,
    num_patches=4,
    patch_size=(256, 512),  # from 512x1024 images
    source_only_iters=0,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_dataloader = {{_base_.cityscapes_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.cityscapes_evaluator}}
test_evaluator = val_evaluator
# No param scheduler: constant lr (the authors' VGG schedule decays x0.1 every
# 50k steps of a round, which no round reaches). The checkpoint hook saves
# every `interval` iterations and, through `save_last`, at the end of every
# round (the loop's max_iters is the end of the last generated round).
default_hooks = dict(
    checkpoint=dict(
        interval=2000, max_keep_ckpts=-1, save_param_scheduler=False))
randomness = dict(seed=0)
