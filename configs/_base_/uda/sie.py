# Scale-invariant examples (SIE; Subhani & Ali, ECCV 2020,
# docs/methods.md#scale-invariant-examples; authors' code "LSE"): the
# self-training rounds' settings, written once. The configs add the target
# images to pseudo-label (`train_cfg.target_dataloader`), the examples'
# pipeline and patch size, and the model with its CE + focal losses.
train_cfg = dict(
    type='SelfTrainingLoop',
    example_dataloader=dict(
        batch_size=1,  # paper / authors' code: batch 1
        num_workers=4,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(type='PseudoLabelDataset')),
    # p = 0.1, 0.15, ..., 0.4 (7 rounds), keep floor(N_c * p / 19) per class
    init_portion=0.1,
    portion_step=0.05,
    max_portion=0.4,
    epochs_per_round=2,
    num_patches=4,
    source_only_iters=0,
    # the source batch is trained with CE only, the focal term is for the
    # scale-invariant examples (authors' train_adp)
    source_excluded_losses=('loss_focal', ),
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
randomness = dict(seed=0)
