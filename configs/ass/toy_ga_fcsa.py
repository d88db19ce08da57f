# ASS "GA+FCSA" on the toy benchmark: ./toy_ga_csa.py with the FCSA
# discriminator (§3.3.1) on the 128-channel feature map of the tiny
# DeepLab-v2 instead of CSA; lambda_sadv as in the GTA5 config.
_base_ = ['./toy_ga_csa.py']
model = dict(
    semantic_discriminator=dict(type='FCSADiscriminator'), lambda_sadv=1.0)
