# Table 1 row "CycleGAN - Day2Night (CS)" of Scherer et al. (2021) (reported
# 52.9 CS / 40.3 Nighttime Driving mIoU): trained on translated day images
# only (batch 8), translated offline by the plain CycleGAN generator (no
# feature loss), no SSL. Write the translated copy first:
#   python tools/train.py configs/cyclegan/city2night.py \
#       --cfg-options model.feature_loss=None \
#       --work-dir work_dirs/city2night_no_fl
#   python tools/translate.py configs/cyclegan/city2night.py \
#       work_dirs/city2night_no_fl/iter_700000.pth \
#       --src data/cityscapes/leftImg8bit/train \
#       --out data/cityscapes_day2night_cyclegan/leftImg8bit/train --scale 0.5
_base_ = ['./cs2night_baseline.py']
model = dict(
    translation='offline',
    translator=None,
    sup_day=False,
    sup_translated=True)
# the data base's day + offline translation dataset, from this CycleGAN's
# translated copy
train_dataloader = dict(
    dataset=dict(
        _base_.mt_day_pair_train_dataset,
        _delete_=True,
        translated_dir='data/cityscapes_day2night_cyclegan/leftImg8bit/train',
        translator_checkpoint='work_dirs/city2night_no_fl/iter_700000.pth'))
