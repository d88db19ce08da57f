# Embedded toy benchmark for semi-supervised DA (ASS): labelled "source"
# renderings + a seeded subset T_L of `num_labeled` labelled "target" train
# images + the unlabelled rest T_U (mmda/datasets/toy.py, 400 train images
# per domain, 64x128). Validation/test: the target val split (toy_target.py).
# toy_oracle uses ass_toy_labeled.py: the same T_L for the same
# num_labeled / split_seed.
_base_ = ['./toy_target.py']
source_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
# T_L and T_U: toy_target.py's training pipeline (scale jitter, crop, flip);
# the T_U labels are never used by the model.
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='SemiTargetUDADataset',
        source=dict(
            type='ToySegDataset', domain='source', split='train',
            pipeline=source_pipeline),
        target=dict(
            type='ToySegDataset', domain='target', split='train',
            pipeline={{_base_.train_pipeline}}),
        num_labeled=25,
        split_file=None,
        split_seed=0,
        unlabeled='rest'))
