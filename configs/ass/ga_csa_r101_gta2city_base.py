# ASS GA + CSA (§3.3.2, Table 1 "GA+CSA", the paper's main model): adds the
# 1x1-convolution semantic-level discriminator on every pixel of F.
_base_ = './ga_r101_gta2city_base.py'
model = dict(
    semantic_discriminator=dict(
        type='CSADiscriminator', in_channels=2048, hidden_channels=1024,
        negative_slope=0.2),
    # Table 2(b): best at 0.01 (60.16 mIoU with 500 images, Table 1: 60.2)
    lambda_sadv=0.01)
optim_wrapper = dict(
    semantic_discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99)),
        clip_grad=None))
param_scheduler = dict(semantic_discriminator=[
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=250000,
         by_epoch=False)
])
