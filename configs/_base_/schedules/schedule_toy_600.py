# Short CPU schedule of the embedded toy benchmark (~1-3 min on 2 cores):
# Adam 1e-3 with poly decay over 600 iterations of batch 8, validation at the
# end. The toy source-only/oracle baselines were calibrated with it
# (docs/results.md, docs/methods.md#calibrating-the-toy-benchmark); the
# toy DACS, DAFormer and mean-teacher configs reuse it so that they differ
# from those baselines in the method only. Adam 1e-3 instead of the papers'
# SGD 2.5e-4, which assumes a pretrained ResNet: the toy model is trained
# from scratch.
# Not here (they would clash with sibling bases): val_cfg / test_cfg (the
# mean-teacher toy data base sets its own) and the checkpoint at the end,
# which a config sets as
#   default_hooks = dict(
#       checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1))
# over configs/_base_/default_runtime.py's hooks.
max_iters = 600
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
