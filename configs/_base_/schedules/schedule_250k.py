# SGD, poly 0.9 (DeepLabV2 / DACS / DAFormer schedule length 250k, DACS thesis)
# (its configs set default_hooks.checkpoint.interval=10000)
optimizer = dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=250000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=250000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
