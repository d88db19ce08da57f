# ASS on the embedded toy benchmark: schedule_ass_150k.py's optimiser with
# the optimisation adapted to a from-scratch tiny model: segmentor lr 0.01,
# poly 0.9 over 2000 iterations, validation at the end.
_base_ = './schedule_ass_150k.py'
max_iters = 2000
poly_iters = max_iters
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [dict(_base_.param_scheduler[0], end=poly_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
