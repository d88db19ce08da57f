# A tiny DeepLab-v2 for the embedded toy benchmark (64x128 images) and for
# tests: the structure of deeplabv2_r101.py (ResNet, dilations 2 and 4 in the
# last two stages, output stride 8, DLV2Head summing dilated 3x3 convs) with a
# ResNet-18 of 16 base channels (~0.7 M parameters) and no pretrained weights.
# The ASPP rates are scaled to the 8x16 feature maps of 64x128 images (rates
# 6-24 on a 65x65 map in the real model).
_base_ = './encoder_decoder.py'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=(64, 128))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(3, ),
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(
        type='DLV2Head',
        in_channels=128,
        in_index=-1,
        dilations=(1, 2, 3, 4),
        align_corners=False))
