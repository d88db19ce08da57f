# The labelled Cityscapes subset T_L alone: the "Oracle" of ASS Table 1
# ("only trained with the given number of Cityscapes labeled images").
# Same images as ass_gta2city.py for the same num_labeled / split_seed /
# split_file (LabeledSubsetDataset and SemiTargetUDADataset share the
# selection), same 1024x512 whole-image input and evaluation.
_base_ = './cityscapes_val.py'  # evaluation: Cityscapes val at 1024x512
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type='LabeledSubsetDataset',
        dataset=dict(_base_.cityscapes_train, pipeline=train_pipeline),
        num_labeled=100,
        split_file=None,
        split_seed=0))
