# city2night.py (CycleGAN + feature loss, Scherer et al. 2021) with the GAN
# loss printed in eq. 4: cross-entropy (log) form, D trained on
# -[log D(x_t) + log(1 - D(G_ST(x_s)))] (gan_type='vanilla': BCE on the
# discriminator logits), the generator on -log D(G_ST(x_s)) (non-saturating;
# see city2night.py). For eq. 4's generator term log(1 - D(G_ST(x_s)))
# itself: --cfg-options gan_type=minimax model.gan_loss.gan_type=minimax city2night.py uses the least-squares loss of the
# CycleGAN code instead.
_base_ = ['./city2night.py']
gan_type = 'vanilla'
model = dict(gan_loss=dict(gan_type=gan_type))
