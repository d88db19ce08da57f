# Shared settings of the scale-invariant-examples (SIE) configs with
# Cityscapes as target (Subhani & Ali, ECCV 2020;
# docs/methods.md#scale-invariant-examples; authors' code "LSE"). A child
# adds the model (wrapped in SIE with ../_base_/uda/sie.py's settings and
# losses), the source train_dataloader and the optimizer. Self-training
# starts from a *source-trained* model: set
# `load_from` to a source-only checkpoint of the same architecture (e.g.
# trained with the source-only configs), or `train_cfg.source_only_iters`.
_base_ = [
    '../_base_/uda/sie.py',
    '../_base_/datasets/cityscapes_1024x512.py',
    '../_base_/default_runtime.py',
]
# Target images to pseudo-label: Cityscapes train at 512x1024 (h x w), no
# random transform (the authors resize to 1024x512 and predict whole images).
sie_target_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='PackSegInputs')]
# Generated examples are already 512x1024 image/label PNGs.
sie_example_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]
# the rounds: configs/_base_/uda/sie.py
train_cfg = dict(
    target_dataloader=dict(
        batch_size=1,
        num_workers=4,
        dataset=dict(
            _base_.cityscapes_target_dataset,
            pipeline=sie_target_pipeline)),
    example_dataloader=dict(dataset=dict(pipeline=sie_example_pipeline)),
    patch_size=(256, 512))  # from 512x1024 images
val_dataloader = _base_.cityscapes_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.cityscapes_evaluator
test_evaluator = val_evaluator
# No param scheduler: constant lr (the authors' VGG schedule decays x0.1 every
# 50k steps of a round, which no round reaches). The checkpoint hook saves
# every `interval` iterations and, through `save_last`, at the end of every
# round (the loop's max_iters is the end of the last generated round).
default_hooks = dict(
    checkpoint=dict(
        interval=2000, max_keep_ckpts=-1, save_param_scheduler=False))
