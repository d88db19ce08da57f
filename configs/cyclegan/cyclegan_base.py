# CycleGAN + feature loss (Scherer et al., 2021, §3.2, §4.2): what the
# Cityscapes -> night and the toy configs share. Not a complete config:
# city2night.py / toy_day2night.py add the data, the network widths, the
# loss weights and the schedule.
# - ResNet generators with bilinear-upsampling + conv instead of transposed
#   convs, 3-layer PatchGAN discriminators, InstanceNorm (§4.2: generators
#   "as in (Zhu et al., 2017)");
# - least-squares GAN loss (the CycleGAN code's default; see city2night.py),
#   lambda_cyc = 10, a VGG feature loss, an image pool of 50;
# - one Adam(0.5, 0.999), lr 2e-4 per network, gradient norms clipped to 5.0;
# - validation by the translation metric; no test split.
_base_ = ['../_base_/default_runtime.py']

# mmseg's register_all_modules does not import mmseg.visualization, which
# the runtime's SegLocalVisualizer needs (until mmda's own registration does).
custom_imports = dict(imports=['mmda', 'mmseg.visualization'],
                      allow_failed_imports=False)

generator = dict(
    type='ResnetGenerator',
    upsample_mode='bilinear_conv',
    norm_cfg=dict(type='IN'))
model = dict(
    type='CycleGAN',
    data_preprocessor=dict(type='UnpairedDataPreprocessor'),
    generator=generator,
    discriminator=dict(
        type='PatchDiscriminator', num_layers=3, norm_cfg=dict(type='IN')),
    gan_loss=dict(type='GANLoss', gan_type='lsgan'),
    cycle_loss_weight=10.0,
    feature_loss=dict(type='VGGFeatureLoss'),
    pool_size=50)

_adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))
_wrapper = dict(type='OptimWrapper', optimizer=_adam,
                clip_grad=dict(max_norm=5.0))
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    gen_a2b=_wrapper, gen_b2a=_wrapper, disc_a=_wrapper, disc_b=_wrapper)
val_cfg = dict(type='ValLoop')
test_cfg = None
test_dataloader = None
test_evaluator = None
default_hooks = dict(
    visualization=dict(type='TranslationVisualizationHook', num_batches=1))
# Each network gets its own DDP wrapper (separate optimizers / backward
# passes); the frozen EMA generators and VGG are not wrapped.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
