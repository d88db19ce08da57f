# Semi-supervised ClassMix model part (not a complete config): Olsson,
# Tranheden et al., "ClassMix" / thesis tranheden_olsson2020 §3.1-3.2, §4.1.2.
# The DACS segmentor with the SSL switches:
# - IntraMix: unlabelled image b mixed with unlabelled image b+1, ClassMask
#   from the pseudo-label of b (Algorithm 1, Figure 3.3);
# - no augmentation beyond the mixing ("in our default solution no further
#   augmentations are used", §3.2; +0.5 mIoU with them, Table 5.1);
# - threshold-proportional weight, tau = 0.968, lambda_u0 = 1 (§2.5.4, §4.1.2);
# - mean teacher, alpha 0.99; the student is evaluated.
# Input normalisation: the COCO-pretrained Caffe DeepLab-v2 of the authors'
# code (BGR, mean subtracted, no std). The thesis normalises Cityscapes with
# the Cityscapes mean (§4.3.1) without printing it; we keep the ImageNet mean
# of the pretraining.
_base_ = ['../_base_/models/deeplabv2_r101_coco.py']
model = dict(
    _delete_=True,
    type='DACS',
    segmentor={{_base_.model}},
    data_preprocessor=dict(
        type='UDADataPreProcessor',
        mean=[104.00698793, 116.66876762, 122.67891434],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        size=(512, 1024),
        pad_val=0,
        seg_pad_val=255),
    teacher=True,
    eval_model='student',
    mix=dict(type='ClassMix', proportion=0.5),
    mix_domain='intra',
    strong_aug=None,
    pseudo_label=dict(mode='threshold_uniform', threshold=0.968),
    soft_targets=False,
    mix_loss_weight=1.0)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.99, interval=1),
    dict(type='UDAVisualizationHook', interval=5000, max_samples=2),
]
