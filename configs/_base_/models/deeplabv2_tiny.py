# A tiny DeepLab-v2 for the embedded toy benchmark (64x128 images) and for
# tests: the structure of deeplabv2_r101.py (ResNet, dilations 2 and 4 in the
# last two stages, output stride 8, DLV2Head summing dilated 3x3 convs) with a
# ResNet-18 of 16 base channels (~0.7 M parameters) and no pretrained weights.
# The ASPP rates are scaled to the 8x16 feature maps of 64x128 images (rates
# 6-24 on a 65x65 map in the real model).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=(64, 128),
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
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
        num_classes=19,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
