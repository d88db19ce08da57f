# DeepLab-v2 ResNet-101 exactly as in the AdaptSegNet / DACS / AdvSemiSeg code
# (``model/deeplab.py``, ``Res_Deeplab``), to be initialised from their
# COCO-pretrained checkpoint converted with
#   python tools/model_converters/deeplabv2_coco.py \
#       DeepLab_resnet_pretrained_init-f81d91e8.pth \
#       checkpoints/deeplabv2_r101_coco_mmda.pth
# (or resnet101COCO-41f33a49.pth, the DACS one). Differences from
# deeplabv2_r101.py:
# - Caffe ResNet: stride on the first 1x1 conv of a bottleneck (style='caffe')
#   and the stem max-pool with ceil_mode=True (DeepLabResNet): a 512x512 crop
#   gives 65x65 logits.
# - BN affine parameters frozen (requires_grad=False in their code), running
#   statistics still updated in training mode.
# - Classifier: their Classifier_Module returns inside its loop, so only the
#   rates 6 and 12 are used although four convs exist (DACS thesis Table 3.1
#   describes four): dilations=(6, 12). Set (6, 12, 18, 24) for the paper's
#   ASPP (the converter keeps all four convs).
# - Supervised CE averaged over the non-ignored pixels (avg_non_ignore).
# - Inputs in the Caffe convention these weights were trained with (their
#   IMG_MEAN): BGR, mean subtracted, no std scaling.
_base_ = './deeplabv2_r101.py'
coco_checkpoint = 'checkpoints/deeplabv2_r101_coco_mmda.pth'
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[104.00698793, 116.66876762, 122.67891434],
    std=[1.0, 1.0, 1.0],
    bgr_to_rgb=False,
    size=(512, 512),
    pad_val=0,
    seg_pad_val=255)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='DeepLabResNet',
        style='caffe',
        stem_pool_ceil_mode=True,
        norm_cfg=norm_cfg,
        # Backbone weights only: the COCO classifier has other classes
        # (DACS copies only the tensors whose shapes match, AdaptSegNet skips
        # layer5 for 19 classes); the head keeps its Normal(0, 0.01) init.
        init_cfg=dict(
            type='Pretrained', checkpoint=coco_checkpoint,
            prefix='backbone.')),
    # Supervised cross-entropy averaged over the non-ignored pixels, as the
    # DACS / AdaptSegNet `CrossEntropy2d` (utils/loss.py): it drops the
    # ignored pixels before F.cross_entropy(reduction='mean').
    decode_head=dict(
        dilations=(6, 12),
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)))
