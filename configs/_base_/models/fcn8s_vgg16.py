# FCN-8s with a VGG16 backbone (Long et al., CVPR 2015), the model of the
# scale-invariant-examples paper (Subhani & Ali 2020, VGG16-FCN8s).
# Backbone returns pool3 (stride 8), pool4 (stride 16) and fc7 (stride 32,
# fc6 = 7x7 conv with 4096 channels, fc7 = 1x1 conv with 4096 channels, dropout
# 0.5 after each); FCN8sHead fuses score_fr, score_pool4 and score_pool3 with
# bilinear-initialised learnable x2 upsamplings; the segmentor upsamples x8.
# ImageNet init: torchvision's vgg16 weights (classifier.0/3 reshaped to
# convs) converted with
#   python tools/model_converters/vgg16_torchvision.py vgg16-397923af.pth \
#       checkpoints/vgg16_fcn_mmda.pth --fc fcn
_base_ = './encoder_decoder.py'
data_preprocessor = dict(size=(512, 1024))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='VGG16',
        pool_strides=(2, 2, 2, 2, 2),
        block_dilations=(1, 1, 1, 1, 1),
        fc6_channels=4096,
        fc6_kernel_size=7,
        fc6_dilation=1,
        fc7_channels=4096,
        fc_dropout=0.5,
        out_indices=(2, 3, 5),
        init_cfg=dict(
            type='Pretrained', checkpoint='checkpoints/vgg16_fcn_mmda.pth')),
    decode_head=dict(
        type='FCN8sHead',
        in_channels=(256, 512, 4096),
        in_index=(0, 1, 2),
        dropout_ratio=0.5,
        learnable_upsample=True,
        align_corners=False))
