# DAFormer network of the paper (Hoyer et al., CVPR 2022, Sec. 3.2, Fig. 3):
# daformer_mit.py with the MiT-B5 encoder (64/128/320/512 channels, 3/6/40/3
# blocks; SegFormer's mit_b5, the authors' configs/_base_/models/
# daformer_sepaspp_mitb5.py), decoder embeddings C_e = 256 and fusion rates
# 1, 6, 12, 18 on 512x512 crops.
#
# ImageNet weights (nothing is downloaded at run time): take SegFormer's
# ImageNet-1k MiT-B5 checkpoint (mit_b5.pth of the NVlabs SegFormer release,
# the file DAFormer's tools/download_checkpoints.sh fetches) and convert its
# keys with mmseg's converter:
#   python <mmsegmentation>/tools/model_converters/mit2mmseg.py \
#       pretrained/mit_b5.pth checkpoints/mit_b5_mmseg.pth
# (see docs/daformer_mic.md). A missing file stops the run at
# init_weights with the path, this key and the command above.
_base_ = './daformer_mit.py'
mit_b5_checkpoint = 'checkpoints/mit_b5_mmseg.pth'
data_preprocessor = dict(size=(512, 512))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        embed_dims=64,
        num_layers=[3, 6, 40, 3],
        init_cfg=dict(type='Pretrained', checkpoint=mit_b5_checkpoint)),
    decode_head=dict(
        in_channels=[64, 128, 320, 512],
        channels=256,
        dilations=(1, 6, 12, 18),
        # mmseg 0.16's CrossEntropyLoss of the authors' code: mean over all
        # pixels of the crop (ignored ones count as 0), i.e. avg_non_ignore
        # False.
        loss_decode=dict(avg_non_ignore=False)))
