# DeepLab-v2 with a ResNet-101 backbone (Chen et al., TPAMI 2018), the model of
# DACS, ASS and most UDA papers (DACS thesis §4.1.3, ASS §4.1).
# Backbone: torchvision-layout ResNet-101 (7x7 stem, stride on the 3x3 conv),
# dilations 2 and 4 in the last two stages -> output stride 8.
# Head: DLV2Head = sum of four 3x3 dilated convs (rates 6, 12, 18, 24) straight
# to class logits. The AdaptSegNet / DACS code effectively uses rates 6 and 12
# only: override ``model.decode_head.dilations=(6, 12)`` to reproduce it (and
# see deeplabv2_r101_coco.py for their COCO-pretrained Caffe variant).
_base_ = './encoder_decoder.py'
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=(512, 512))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(3, ),
        style='pytorch',
        contract_dilation=False,
        norm_cfg=norm_cfg,
        norm_eval=False,
        # ImageNet weights of torchvision (what `torchvision://resnet101`
        # names), read from a local file: nothing is downloaded at run time.
        # Get it with
        #   mkdir -p checkpoints && wget -P checkpoints \
        #       https://download.pytorch.org/models/resnet101-63fe2227.pth
        # or point `model.backbone.init_cfg.checkpoint` (nested configs:
        # the key the missing-file error names) at your copy; see
        # docs/pretrained_weights.md. DACS/AdaptSegNet start from the
        # COCO-pretrained DeepLab checkpoint instead (deeplabv2_r101_coco.py).
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet101-63fe2227.pth')),
    decode_head=dict(
        type='DLV2Head',
        in_channels=2048,
        in_index=-1,
        dilations=(6, 12, 18, 24),
        # DACS `interp` / AdaptSegNet: logit j on pixel 8j
        align_corners=True))
