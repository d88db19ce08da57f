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
    '../_base_/schedules/schedule_toy_600.py',
]
val_dataloader = dict(dataset=dict(domain='target'))
test_dataloader = dict(dataset=dict(domain='target'))

# the toy schedule (600 iterations of batch 8, Adam, poly; docs/results.md)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
