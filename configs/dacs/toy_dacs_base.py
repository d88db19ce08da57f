# DACS on the embedded toy benchmark: model, schedule and hooks (not a
# complete config; toy_dacs.py and toy_dacs_night.py add the data).
# The method is the thesis' DACS (ClassMix InterMix, colour jitter + blur
# with p 0.5, EMA teacher alpha 0.99); adapted to a from-scratch tiny model:
# Adam 1e-3 / poly over 600 iterations (the toy baselines' optimisation) and
# a constant pseudo-label weight (see below) -- tools/benchmarks/dacs_toy.py
# measures the table.
_base_ = [
    '../_base_/models/deeplabv2_tiny.py',
    '../_base_/uda/dacs.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_toy_600.py',
]
# configs/_base_/uda/dacs.py with one change, tuned for the toy
# (tools/benchmarks/dacs_toy.py): the tiny from-scratch model's teacher
# rarely reaches the thesis' 0.968 confidence, so the threshold-uniform
# weight (eq. 2.15) stays at 0.1-0.2 and starves the target loss (seed 0:
# 35.4 mIoU vs 34.5 source-only); the constant weight 1 of the thesis'
# ablation (Table 5.1, "constant") closes the gap. The thesis default is
# toy_dacs_threshold_uniform.py. reduce='batch': when a derived config uses
# 'threshold_uniform', one weight per batch as the thesis (§5.2.1).
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    pseudo_label=dict(mode='none', threshold=0.968, reduce='batch'))
# Optimisation of the toy source-only/oracle baselines
# (configs/source_only/toy_*.py): configs/_base_/schedules/schedule_toy_600.py
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1))
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.99, interval=1),
    dict(type='UDAVisualizationHook', interval=250, max_samples=2),
]
randomness = dict(seed=0)
