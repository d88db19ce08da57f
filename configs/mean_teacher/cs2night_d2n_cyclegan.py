# Table 1 row "CycleGAN - Day2Night (CS)" of Scherer et al. (2021) (reported
# 52.9 CS / 40.3 Nighttime Driving mIoU): trained on translated day images
# only (batch 8), with the plain CycleGAN generator (no feature loss), no SSL.
# checkpoints/cyclegan_city2night.pth: the final checkpoint of
#   python tools/train.py configs/cyclegan/city2night.py \
#       --cfg-options model.feature_loss=None
_base_ = ['./cs2night_baseline.py']
model = dict(
    translator=dict(
        _delete_=True,
        type='Day2NightTranslator',
        generator=dict(
            type='ResnetGenerator',
            base_channels=64,
            num_blocks=9,
            upsample_mode='bilinear_conv',
            norm_cfg=dict(type='IN')),
        checkpoint='checkpoints/cyclegan_city2night.pth',
        ema=True,
        direction='a2b'),
    sup_day=False,
    sup_translated=True)
