# Semi-supervised ClassMix model part (not a complete config): Olsson,
# Tranheden et al., "ClassMix" / thesis tranheden_olsson2020 §3.1-3.2, §4.1.2.
# The DACS segmentor with the SSL switches:
# - IntraMix: unlabelled image b mixed with unlabelled image b+1, ClassMask
#   from the pseudo-label of b (Algorithm 1, Figure 3.3);
# - no augmentation beyond the mixing ("in our default solution no further
#   augmentations are used", §3.2; +0.5 mIoU with them, Table 5.1);
# - threshold-proportional weight, tau = 0.968, lambda_u0 = 1 (§2.5.4, §4.1.2),
#   one weight per batch (§5.2.1);
# - mean teacher, alpha 0.99; the student is evaluated.
# Input normalisation: the COCO-pretrained Caffe DeepLab-v2 of the authors'
# code (BGR, mean subtracted, no std): the ImageNet mean here (Pascal VOC,
# ClassMix code trainSSL.py); the Cityscapes configs subtract the Cityscapes
# mean instead (thesis §4.3.1), see `classmix_cityscapes_mean` below.
# Optimiser (thesis §4.1.2; ClassMix code model/deeplabv2.py
# `optim_parameters`): SGD lr 2.5e-4, momentum 0.9, weight decay 5e-4,
# poly 0.9 over 40k iterations (schedule_40k.py), classifier (decode head)
# lr x10 (`classmix_paramwise_cfg`).
# The DACS settings (configs/_base_/uda/dacs.py: one weight per batch, the
# teacher's BatchNorm with the unlabelled batch's own statistics) with the
# SSL switches below.
_base_ = [
    '../_base_/models/deeplabv2_r101_coco.py',
    '../_base_/uda/dacs.py',
]
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    # the Caffe input normalisation of the model base (see above) for the
    # labelled and unlabelled batches of whole 512x1024 images
    data_preprocessor=dict(
        _base_.data_preprocessor, type='UDADataPreProcessor',
        size=(512, 1024)),
    mix_domain='intra',
    strong_aug=None)
# The Cityscapes mean the ClassMix code subtracts (data/cityscapes_loader.py:
# [73.15835921, 82.90891754, 72.39239876], named RGB there but subtracted
# after its RGB -> BGR flip, i.e. from the B, G, R channels in that order;
# our inputs are BGR as well, bgr_to_rgb=False).
classmix_cityscapes_mean = [73.15835921, 82.90891754, 72.39239876]
# classifier lr x10 (the schedule base holds the optimiser, so each config
# sets optim_wrapper.paramwise_cfg from this)
classmix_paramwise_cfg = dict(
    custom_keys={'student.decode_head': dict(lr_mult=10.0)})
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.99, interval=1),
    dict(type='UDAVisualizationHook', interval=5000, max_samples=2),
]
