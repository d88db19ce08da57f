# The labelled toy-target subset T_L alone (the "Oracle" of ASS Table 1 on
# the embedded toy benchmark): the same images as ass_toy.py for the same
# num_labeled / split_seed, the same pipeline and batch size as its T_L.
_base_ = ['./toy_target.py']
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        _delete_=True,
        type='LabeledSubsetDataset',
        dataset=dict(
            type='ToySegDataset', domain='target', split='train',
            pipeline=_base_.train_pipeline),
        num_labeled=25,
        split_file=None,
        split_seed=0))
