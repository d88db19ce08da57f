# ASS GA + CSA (§3.3.2, Table 1 "GA+CSA", the paper's main model): adds the
# 1x1-convolution semantic-level discriminator on every pixel of F.
_base_ = './ga_r101_gta2city_base.py'
model = dict(
    semantic_discriminator=dict(
        type='CSADiscriminator', in_channels=2048, hidden_channels=1024,
        negative_slope=0.2),
    # Table 2(b): best at 0.01 (60.16 mIoU with 500 images, Table 1: 60.2)
    lambda_sadv=0.01)
optim_wrapper = dict(semantic_discriminator=_base_.disc_optim)
param_scheduler = dict(semantic_discriminator=_base_.param_scheduler.student)
