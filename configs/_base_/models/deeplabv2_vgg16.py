# DeepLab-v2 with a VGG16 backbone in the DeepLab-LargeFOV form (Chen et al.,
# ICLR 2015, Sec. 4.1), the student/teacher of Scherer et al. 2021 (Sec. 4.2):
# pool4/pool5 with stride 1, conv5 dilated by 2, fc6 = 3x3 conv, dilation 12,
# 1024 channels, fc7 = 1x1 conv, 1024 channels, dropout 0.5 after fc6 and fc7,
# fc8 = 1x1 conv to the classes. Output stride 8.
# ImageNet init: torchvision's vgg16 weights converted (fc6/fc7 decimated as
# in DeepLab) with
#   python tools/model_converters/vgg16_torchvision.py vgg16-397923af.pth \
#       checkpoints/vgg16_deeplab_largefov_mmda.pth --fc deeplab
_base_ = './encoder_decoder.py'
data_preprocessor = dict(size=(512, 512))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='VGG16',
        pool_strides=(2, 2, 2, 1, 1),
        block_dilations=(1, 1, 1, 1, 2),
        fc6_channels=1024,
        fc6_kernel_size=3,
        fc6_dilation=12,
        fc7_channels=1024,
        fc_dropout=0.5,
        out_indices=(5, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/vgg16_deeplab_largefov_mmda.pth')),
    decode_head=dict(
        # fc8 of LargeFOV: dropout 0.5 on fc7, then a 1x1 conv to the classes.
        type='DLV2Head',
        in_channels=1024,
        in_index=-1,
        dilations=(1, ),
        kernel_size=1,
        dropout_ratio=0.5,
        align_corners=False))
