# What every segmentation network of mmda shares (not a model on its own):
# mmseg's EncoderDecoder with whole-image inference, inputs normalised with
# the ImageNet mean/std in RGB order (the torchvision / mmseg ImageNet
# convention of the pretrained backbones; the Caffe-converted COCO DeepLab
# of deeplabv2_r101_coco.py overrides it), padded with 0 (images) / 255
# (labels, the ignore index), 19 Cityscapes classes and a cross-entropy
# loss. A model base adds the backbone, the head and the input size
# (data_preprocessor = dict(size=...)).
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    decode_head=dict(
        num_classes=19,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
