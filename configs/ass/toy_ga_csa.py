# ASS "GA+CSA" (the paper's main model) on the toy benchmark:
#   python tools/train.py configs/ass/toy_ga_csa.py
_base_ = ['./toy_ga_base.py', '../_base_/datasets/ass_toy.py']
model = dict(
    semantic_discriminator=dict(
        type='CSADiscriminator', in_channels=128, hidden_channels=1024),
    lambda_sadv=0.01)
optim_wrapper = dict(semantic_discriminator=_base_.disc_optim)
param_scheduler = dict(semantic_discriminator=_base_.poly)
train_dataloader = dict(dataset=dict(num_labeled=25))
