# Semi-supervised Cityscapes for ClassMix (thesis §3.2, §4.1.2): a labelled
# subset (UDADataset "source") and the unlabelled rest ("target") of
# Cityscapes train, both resized to 512x1024 (no crop, no other augmentation:
# "As for augmentations other than mixing, we do not use any for the
# Cityscapes dataset"), batch 2 labelled + 2 unlabelled.
# The split files are written by
#   python tools/misc/make_semi_splits.py cityscapes data/cityscapes \
#       --fractions 1/30 1/8 1/4 --seed 0
# (-> data/cityscapes/splits/1-8_seed0_labeled.txt / _unlabeled.txt);
# the configs in configs/classmix/ set `split`.
_base_ = './cityscapes_val.py'  # evaluation: Cityscapes val at 1024x512
split = '1-8_seed0'
img_scale = (1024, 512)
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackSegInputs'),
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        type='UDADataset',
        source=dict(
            _base_.cityscapes_train,
            ann_file=f'splits/{split}_labeled.txt',
            pipeline=labeled_pipeline),
        target=dict(
            _base_.cityscapes_train,
            ann_file=f'splits/{split}_unlabeled.txt',
            pipeline=unlabeled_pipeline)))
