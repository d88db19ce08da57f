# DACS model part shared by the GTA5/SYNTHIA -> Cityscapes configs (not a
# complete config: combine it with a dataset, runtime and schedule base).
# Tranheden, Olsson et al., "DACS: Domain Adaptation via Cross-domain Mixed
# Sampling" / thesis tranheden_olsson2020 (ch. 3, §4.1.3),
# docs/methods.md#dacs.
_base_ = [
    '../_base_/models/deeplabv2_r101_coco.py',
    '../_base_/uda/dacs.py',
]
# Inputs as the DACS code feeds its COCO-pretrained Caffe DeepLab-v2: BGR,
# ImageNet mean subtracted, no std scaling ("normalisation ... with respect
# to the mean of the pretraining dataset (ImageNet)", thesis §4.1.3; DACS
# code IMG_MEAN). The colour jitter then also sees BGR images, as in their
# code. These are the model base's (deeplabv2_r101_coco.py) settings, in
# the UDA pre-processor (source and target batches), 512x512 crops.
dacs_data_preprocessor = dict(
    _base_.data_preprocessor, type='UDADataPreProcessor')
# the method's settings: configs/_base_/uda/dacs.py
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    data_preprocessor=dacs_data_preprocessor)
custom_hooks = [
    # teacher EMA alpha = 0.99 with the warm start min(1 - 1/(i+1), alpha)
    # (thesis §2.5.5, DACS code; docs/methods.md#student-and-teacher).
    dict(type='EMATeacherHook', alpha=0.99, interval=1),
    dict(type='UDAVisualizationHook', interval=5000, max_samples=2),
]
