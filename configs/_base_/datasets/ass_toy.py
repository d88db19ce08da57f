# Embedded toy benchmark for semi-supervised DA (ASS): labelled "source"
# renderings + a seeded subset T_L of `num_labeled` labelled "target" train
# images + the unlabelled rest T_U (mmda/datasets/toy.py, 400 train images
# per domain, 64x128). Validation/test: the target val split (toy_target.py).
# toy_oracle uses ass_toy_labeled.py: the same T_L for the same
# num_labeled / split_seed.
_base_ = ['./toy_target.py']
source_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
# toy_source.py's loader settings, batch 4
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        _delete_=True,
        type='SemiTargetUDADataset',
        source=dict(
            type='ToySegDataset', domain='source', split='train',
            pipeline=source_pipeline),
        target=dict(
            type='ToySegDataset', domain='target', split='train',
            pipeline=_base_.train_pipeline),
        num_labeled=25,
        split_file=None,
        split_seed=0,
        unlabeled='rest'))
