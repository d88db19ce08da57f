# SGD, poly 0.9 (DeepLabV2 / DACS / DAFormer schedule length 250k, DACS thesis)
# (its configs set default_hooks.checkpoint.interval=10000): schedule_40k.py
# over 250k iterations.
_base_ = './schedule_40k.py'
param_scheduler = [dict(_base_.param_scheduler[0], end=250000)]
train_cfg = dict(max_iters=250000, val_interval=10000)
