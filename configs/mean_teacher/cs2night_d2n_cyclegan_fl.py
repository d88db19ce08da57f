# Table 1 row "CycleGAN + FL - Day2Night (CS)" of Scherer et al. (2021)
# (reported 63.7 CS / 44.7 Nighttime Driving mIoU): trained on day images
# translated offline by the CycleGAN + feature loss generator only (batch 8),
# no SSL. The translated copy is cs2night.py's (see there for the command).
_base_ = ['./cs2night_d2n_cyclegan.py']
train_dataloader = dict(
    dataset=dict(
        translated_dir='data/cityscapes_day2night/leftImg8bit/train',
        translator_checkpoint='work_dirs/city2night/iter_700000.pth'))
