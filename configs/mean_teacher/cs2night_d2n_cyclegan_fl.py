# Table 1 row "CycleGAN + FL - Day2Night (CS)" of Scherer et al. (2021)
# (reported 63.7 CS / 44.7 Nighttime Driving mIoU): trained on day images
# translated by the CycleGAN + feature loss generator only (batch 8), no SSL.
_base_ = ['./cs2night_d2n_cyclegan.py']
model = dict(
    translator=dict(checkpoint='checkpoints/cyclegan_fl_city2night.pth'))
