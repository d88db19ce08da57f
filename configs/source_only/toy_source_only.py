# Source-only baseline on the embedded toy benchmark: train the tiny
# DeepLabV2 on toy "source" (flat synthetic day), evaluate on toy "target"
# (textured real day) val. Compare with ./toy_oracle.py (trained on target
# labels); docs/methods.md#calibrating-the-toy-benchmark aims source-only
# at about 40-60% of the oracle's mIoU. Measured by
# tools/benchmarks/toy_source_only.py (3 seeds): source-only 34.7 ± 1.0,
# oracle 63.8 ± 0.7 target mIoU (ratio 0.54); night: 35.5 vs 64.0 (0.55).
#
# val/test report the target val set. For the in-domain (source val) score:
#   python tools/test.py configs/source_only/toy_source_only.py CKPT \
#       --cfg-options test_dataloader.dataset.domain=source
_base_ = [
    '../_base_/models/deeplabv2_tiny.py',
    '../_base_/datasets/toy_source.py',
    '../_base_/default_runtime.py',
]
val_dataloader = dict(dataset=dict(domain='target'))
test_dataloader = dict(dataset=dict(domain='target'))

# Short CPU schedule (~1-3 min on 2 cores): Adam, poly decay, 600 iterations
# of batch 8 (the iteration count the toy benchmark was calibrated with;
# docs/results.md).
max_iters = 600
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
