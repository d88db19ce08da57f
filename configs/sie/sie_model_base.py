# The model settings every SIE config shares (Subhani & Ali, ECCV 2020;
# docs/methods.md#scale-invariant-examples). Not a complete config: a config
# that lists it wraps its segmentor as
#   model = dict(_delete_=True, type='SIE', segmentor=..., ...)
# with these decode-head losses.
# CE + 0.1 * focal (gamma 3) on the scale-invariant examples; SIE's
# `source_excluded_losses=('loss_focal', )` trains the source batch with CE
# only (the authors' train_adp). The authors' CrossEntropy2d averages over
# the non-ignored pixels.
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
