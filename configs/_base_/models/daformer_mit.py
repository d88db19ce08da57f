# The DAFormer network without its size (Hoyer et al., CVPR 2022, Sec. 3.2,
# Fig. 3): a SegFormer MiT encoder (mmseg's MixVisionTransformer, four
# stages at strides 4-32) and the DAFormer decoder with context-aware
# feature fusion (mmda/models/decode_heads/daformer_head.py: 1x1 embeddings
# of the four levels, upsampled to stride 4 and concatenated, fused by
# depthwise-separable dilated convs, BN everywhere). Values the paper leaves
# open follow the authors' configs/_base_/models/daformer_sepaspp_mitb5.py
# and daformer_conv1_mitb5.py (dropout 0.1, align_corners False) and their
# mit_b5 (drop path 0.1). Not a model on its own: mit_b5_daformer.py (the
# paper's) and mit_tiny_daformer.py (the toy's) set the widths, depths,
# fusion rates, input size and weights.
_base_ = './encoder_decoder.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        type='MixVisionTransformer',
        in_channels=3,
        num_stages=4,
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1),
    decode_head=dict(
        type='DAFormerHead',
        in_index=[0, 1, 2, 3],
        separable=True,
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False))
