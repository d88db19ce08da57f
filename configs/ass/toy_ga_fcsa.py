# ASS "GA+FCSA" on the toy benchmark (FCSA on the 128-channel feature map of
# the tiny DeepLab-v2; lambda_sadv as in the GTA5 config).
_base_ = ['./toy_ga_base.py', '../_base_/datasets/ass_toy.py']
model = dict(
    semantic_discriminator=dict(
        type='FCSADiscriminator', in_channels=128, hidden_channels=1024),
    lambda_sadv=1.0)
optim_wrapper = dict(semantic_discriminator={{_base_.disc_optim}})
param_scheduler = dict(semantic_discriminator={{_base_.poly}})
train_dataloader = dict(dataset=dict(num_labeled=25))
