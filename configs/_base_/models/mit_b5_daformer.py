# DAFormer network (Hoyer et al., CVPR 2022, Sec. 3.2, Fig. 3): a SegFormer
# MiT-B5 encoder (mmseg's MixVisionTransformer) and the DAFormer decoder with
# context-aware feature fusion (mmda/models/decode_heads/daformer_head.py:
# 1x1 embeddings of the four levels to C_e = 256, upsampled to stride 4 and
# concatenated, fused by depthwise-separable dilated convs with rates 1, 6,
# 12, 18, BN everywhere). Values the paper leaves open follow the authors'
# configs/_base_/models/daformer_sepaspp_mitb5.py and daformer_conv1_mitb5.py
# (dropout 0.1, align_corners False) and their mit_b5 (drop path 0.1).
#
# ImageNet weights (nothing is downloaded at run time): take SegFormer's
# ImageNet-1k MiT-B5 checkpoint (mit_b5.pth of the NVlabs SegFormer release,
# the file DAFormer's tools/download_checkpoints.sh fetches) and convert its
# keys with mmseg's converter:
#   python <mmsegmentation>/tools/model_converters/mit2mmseg.py \
#       pretrained/mit_b5.pth checkpoints/mit_b5_mmseg.pth
# (see docs/daformer_mic.md). A missing file stops the run at
# init_weights with the path, this key and the command above.
mit_b5_checkpoint = 'checkpoints/mit_b5_mmseg.pth'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=(512, 512),
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=64,
        num_stages=4,
        num_layers=[3, 6, 40, 3],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=mit_b5_checkpoint)),
    decode_head=dict(
        type='DAFormerHead',
        in_channels=[64, 128, 320, 512],
        in_index=[0, 1, 2, 3],
        channels=256,
        dilations=(1, 6, 12, 18),
        separable=True,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        # mmseg 0.16's CrossEntropyLoss of the authors' code: mean over all
        # pixels of the crop (ignored ones count as 0), i.e. avg_non_ignore
        # False.
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=False)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
