# A tiny MiT + DAFormer decoder for the embedded toy benchmark (64x128
# images) and for tests: daformer_mit.py (the structure of
# mit_b5_daformer.py: four MiT stages at strides 4-32, DAFormerHead) with
# one block per stage, 16 base channels (16/32/80/128 per stage) and a
# 64-channel decoder; no pretrained weights (trained from scratch, like
# configs/_base_/models/deeplabv2_tiny.py). The fusion rates are scaled to
# the 16x32 stride-4 map of a 64x128 image (rates 6-18 on the 128x128 map of
# a 512x512 crop in the real model).
_base_ = './daformer_mit.py'
data_preprocessor = dict(size=(64, 128))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1], init_cfg=None),
    decode_head=dict(
        in_channels=[16, 32, 80, 128], channels=64, dilations=(1, 2, 3, 4)))
