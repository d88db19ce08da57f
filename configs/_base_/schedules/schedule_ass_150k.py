# ASS / AdaptSegNet segmentor schedule (Wang et al. 2020 §4.2; AdaptSegNet
# [22] of the paper): SGD + Nesterov, momentum 0.9, weight decay 5e-4,
# lr 2.5e-4 with the classifier (decode head) x10; poly 0.9 decay over
# AdaptSegNet's 250k iterations (`poly_iters`), training stops at 150k
# (NUM_STEPS_STOP). A GA config puts this optimiser under `student` and adds
# one per discriminator (configs/_base_/uda/ass.py `disc_optim`).
poly_iters = 250000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4,
        nesterov=True),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=poly_iters,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=150000,
                 val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
