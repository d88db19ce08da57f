# CycleGAN + feature loss on the toy benchmark: toy "source" day -> toy night.
# Same recipe as city2night.py, scaled down to train on CPU in minutes:
# 8-channel generator with 3 residual blocks, 16-channel 3-layer PatchGAN,
# 64x64 crops, batch 2, 2000 iterations, EMA with warm start (decay 0.99,
# the paper's 0.9999 would barely move in 2000 steps). The feature loss uses
# a tiny VGG-style stack (16-16-pool-32-32, features after block2_conv2),
# randomly initialised here; tools/benchmarks/cyclegan_seg_toy.py first
# trains it on the labelled day images (the stand-in for ImageNet weights,
# which real runs load: see city2night.py) and passes it as vgg_checkpoint.
# lambda_feature = 0.1 (the paper gives no value): with that feature net,
# 1.0 let the discriminators win (loss_disc ~0.004) and the generator stayed
# close to the identity - day 62.5 / night 29.6 mIoU after segmentation
# training on its translations, vs 60.4 / 42.2 with 0.1 and 48.2 / 48.8
# without the feature loss (3 seeds, README "CycleGAN").
_base_ = [
    './cyclegan_base.py',
    '../_base_/datasets/unpaired_toy_day2night.py',
]
generator = dict(base_channels=8, num_blocks=3)
model = dict(
    generator=generator,
    discriminator=dict(base_channels=16),
    feature_loss=dict(
        arch=(16, 16, 'M', 32, 32), layer='block2_conv2', vgg_checkpoint=None,
        loss_weight=0.1),
    ema_decay=0.99,
    ema_warmup=True)
param_scheduler = [
    dict(type='MultiStepLR', milestones=[1500], gamma=0.5, by_epoch=False,
         begin=0, end=2000)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=2))
randomness = dict(seed=0)
