# CycleGAN + feature loss, Cityscapes day -> Dark Zurich + BDD100K night
# (Scherer et al., 2021, §3.2, §4.2):
# ResNet generator with 9 residual blocks and bilinear-upsampling + conv
# instead of transposed convs; 70x70 PatchGAN discriminators; least-squares
# GAN loss (`gan_type` below); # λ_cyc = 10; VGG19 block5_conv2 feature loss; Adam(0.5, 0.999), lr 2e-4 for
# 100k iterations then 1e-4, 700k iterations, batch 1; gradient norms clipped
# to 5.0 per network; EMA generators (decay 0.9999) used for translation.
#
# The VGG19 ImageNet weights come from a local file (nothing is downloaded):
# torchvision's vgg19-dcbb9e9d.pth, e.g. put it at
# checkpoints/vgg19-dcbb9e9d.pth or override
#   --cfg-options model.feature_loss.vgg_checkpoint=/path/to/vgg19.pth
# λ_feature is not given in the paper; 1.0 with mean-squared features here.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/unpaired_city2night.py',
]

# mmseg's register_all_modules does not import mmseg.visualization, which
# the runtime's SegLocalVisualizer needs (until mmda's own registration does).
custom_imports = dict(imports=['mmda', 'mmseg.visualization'],
                      allow_failed_imports=False)

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
generator = dict(
    type='ResnetGenerator',
    base_channels=64,
    num_blocks=9,
    upsample_mode='bilinear_conv',
    norm_cfg=dict(type='IN'))
model = dict(
    type='CycleGAN',
    data_preprocessor=dict(type='UnpairedDataPreprocessor'),
    generator=generator,
    discriminator=dict(
        type='PatchDiscriminator', base_channels=64, num_layers=3,
        norm_cfg=dict(type='IN')),
    gan_loss=dict(type='GANLoss', gan_type=gan_type),
    cycle_loss_weight=10.0,
    identity_loss_weight=0.0,
    feature_loss=dict(
        type='VGGFeatureLoss',
        layer='block5_conv2',
        vgg_checkpoint='checkpoints/vgg19-dcbb9e9d.pth',
        loss_weight=1.0),
    pool_size=50,
    ema_decay=0.9999,
    discriminator_steps=1)

_adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))
_wrapper = dict(type='OptimWrapper', optimizer=_adam,
                clip_grad=dict(max_norm=5.0))
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    gen_a2b=_wrapper, gen_b2a=_wrapper, disc_a=_wrapper, disc_b=_wrapper)
# 2e-4 -> 1e-4 after 100k iterations; applied to each of the 4 optimizers.
param_scheduler = [
    dict(type='MultiStepLR', milestones=[100000], gamma=0.5, by_epoch=False,
         begin=0, end=700000)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=700000,
                 val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = None
test_dataloader = None
test_evaluator = None
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=10000),
    visualization=dict(type='TranslationVisualizationHook', num_batches=4))
# Each network gets its own DDP wrapper (separate optimizers / backward
# passes); the frozen EMA generators and VGG are not wrapped.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
