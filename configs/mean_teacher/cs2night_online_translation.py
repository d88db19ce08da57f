# Variant of cs2night.py (full method, Scherer et al. 2021) that translates
# the day crops on the fly with the frozen EMA generator instead of reading
# the offline "Day2Night (CS)" copy (model.translation='online').
# Not the paper's setting: Table 1 translates the Cityscapes images *before*
# segmentation training, whole images at 1024x512. Here the generator sees
# each 256x256 crop alone; its InstanceNorm layers normalise with the
# statistics of the crop, not of the whole image, so G_ST(crop) is not the
# crop of G_ST(image) (and every step pays the generator's forward pass).
# Useful when no translated copy can be written (disk, a new generator).
# checkpoints/cyclegan_fl_city2night.pth: the final checkpoint of
#   python tools/train.py configs/cyclegan/city2night.py
_base_ = ['./cs2night.py']
model = dict(
    translation='online',
    translator=dict(
        _delete_=True,
        type='Day2NightTranslator',
        generator=dict(
            type='ResnetGenerator',
            base_channels=64,
            num_blocks=9,
            upsample_mode='bilinear_conv',
            norm_cfg=dict(type='IN')),
        checkpoint='checkpoints/cyclegan_fl_city2night.pth',
        ema=True,
        direction='a2b'))
train_dataloader = dict(
    dataset=dict(source=_base_.mt_day_train_dataset))
