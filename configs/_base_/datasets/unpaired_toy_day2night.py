# Unpaired toy day (A = the labelled "source" domain) / toy night (B) images
# of the embedded toy benchmark (mmda/datasets/toy.py, 64x128 HxW, generated
# on first use), for a CycleGAN that trains on CPU in minutes.
unpaired_dataset_type = 'UnpairedImageDataset'
unpaired_crop_size = (64, 64)
unpaired_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=unpaired_crop_size),
    dict(type='RandomFlip', prob=0.5),
]
unpaired_test_pipeline = [dict(type='LoadImageFromFile')]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=unpaired_dataset_type,
        domain_a=dict(name='toy_source', sources=[dict(toy='source',
                                                       split='train')]),
        domain_b=dict(name='toy_night', sources=[dict(toy='night',
                                                      split='train')]),
        pipeline=unpaired_train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=unpaired_dataset_type,
        domain_a=dict(name='toy_source', sources=[dict(toy='source',
                                                       split='val')]),
        domain_b=dict(name='toy_night', sources=[dict(toy='night',
                                                      split='val')]),
        max_samples=16,
        test_mode=True,
        pipeline=unpaired_test_pipeline))
val_evaluator = dict(type='TranslationMetric')
