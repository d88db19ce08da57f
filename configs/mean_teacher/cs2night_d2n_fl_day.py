# Table 1 row "CycleGAN + FL - Day2Night (CS) + Daytime (CS)" of Scherer et
# al. (2021) (reported 67.4 CS / 45.1 Nighttime Driving mIoU): 4 day images
# and their 4 translations per batch (§4.3: "50% transformed CS images as
# well as 50% non-transformed images per batch"), no SSL.
_base_ = ['./cs2night_d2n_cyclegan_fl.py']
model = dict(sup_day=True, sup_translated=True)
train_dataloader = dict(batch_size=4)
