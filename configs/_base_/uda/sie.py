# Scale-invariant examples (SIE; Subhani & Ali, ECCV 2020,
# docs/methods.md#scale-invariant-examples; authors' code "LSE"): the
# self-training rounds' settings and the SIE model's settings, written once.
# The configs add the target images to pseudo-label
# (`train_cfg.target_dataloader`), the examples' pipeline and patch size, and
# wrap their network as
#   model = dict(_base_.uda, _delete_=True, segmentor=dict(_base_.model,
#       decode_head=dict(_base_.model.decode_head,
#                        loss_decode=_base_.sie_loss_decode)))
# The source batch is trained with CE only, the focal term is for the
# scale-invariant examples (authors' train_adp).
uda = dict(type='SIE', source_excluded_losses=('loss_focal', ))
# CE + 0.1 * focal (gamma 3) on the scale-invariant examples; the authors'
# CrossEntropy2d averages over the non-ignored pixels.
sie_loss_decode = [
    dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
         avg_non_ignore=True, loss_name='loss_ce'),
    dict(type='SoftmaxFocalLoss', gamma=3.0, loss_weight=0.1,
         loss_name='loss_focal'),
]
# the SIE segmentor's own train_step under DDP (as every mmda method)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
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
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
randomness = dict(seed=0)
