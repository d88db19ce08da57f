# CycleGAN + feature loss, Cityscapes day -> Dark Zurich + BDD100K night
# (Scherer et al., 2021, §3.2, §4.2):
# ResNet generator with 9 residual blocks and bilinear-upsampling + conv
# instead of transposed convs; 70x70 PatchGAN discriminators; least-squares
# GAN loss (`gan_type` below); λ_cyc = 10; VGG19 block5_conv2 feature loss;
# Adam(0.5, 0.999), lr 2e-4 for 100k iterations then 1e-4, 700k iterations,
# batch 1; gradient norms clipped to 5.0 per network; EMA generators (decay
# 0.9999) used for translation. The parts shared with the toy config are in
# ./cyclegan_base.py.
#
# The VGG19 ImageNet weights come from a local file (nothing is downloaded):
# torchvision's vgg19-dcbb9e9d.pth, e.g. put it at
# checkpoints/vgg19-dcbb9e9d.pth or override
#   --cfg-options model.feature_loss.vgg_checkpoint=/path/to/vgg19.pth
# λ_feature is not given in the paper; 1.0 with mean-squared features here.
_base_ = [
    './cyclegan_base.py',
    '../_base_/datasets/unpaired_city2night.py',
]

# GAN loss type (model.gan_loss.gan_type). This config uses 'lsgan', the
# least-squares loss of the CycleGAN code (Zhu et al.'s default), which the
# paper builds on (§4.2: generators "as in (Zhu et al., 2017)"). Eq. 4 of the
# paper prints the log (cross-entropy) form: 'vanilla' (city2night_bce.py)
# is that loss for the discriminators, E[log D(x_t)] + E[log(1-D(G(x_s)))],
# with the generator minimising -log D(G(x_s)) (the non-saturating form of
# Goodfellow et al. and of the CycleGAN code's 'vanilla' mode);
# 'minimax' is eq. 4 to the letter (the generator minimises
# log(1 - D(G(x_s))), which saturates while D wins early in training).
gan_type = 'lsgan'
generator = dict(base_channels=64, num_blocks=9)
model = dict(
    generator=generator,
    discriminator=dict(base_channels=64),  # 70x70 PatchGAN
    gan_loss=dict(gan_type=gan_type),
    identity_loss_weight=0.0,
    feature_loss=dict(
        layer='block5_conv2',
        vgg_checkpoint='checkpoints/vgg19-dcbb9e9d.pth',
        loss_weight=1.0),
    ema_decay=0.9999,
    discriminator_steps=1)

# 2e-4 -> 1e-4 after 100k iterations; applied to each of the 4 optimizers.
param_scheduler = [
    dict(type='MultiStepLR', milestones=[100000], gamma=0.5, by_epoch=False,
         begin=0, end=700000)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=700000,
                 val_interval=10000)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=10000),
    visualization=dict(num_batches=4))
