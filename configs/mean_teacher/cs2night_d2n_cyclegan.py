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
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='Day2NightCityscapesDataset',
        data_root='data/cityscapes/',
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        translated_dir='data/cityscapes_day2night_cyclegan/leftImg8bit/train',
        translator_config='configs/cyclegan/city2night.py',
        translator_checkpoint='work_dirs/city2night_no_fl/iter_700000.pth',
        translate_scale=0.5,
        pipeline=_base_.mt_day_pair_train_pipeline))
