# ASS, GTA5 -> Cityscapes, global adaptation only ("GA" column of Table 1;
# Wang et al. 2020 §3.1-3.2, §4; docs/methods.md#ass). The GA+FCSA / GA+CSA
# bases add a semantic-level discriminator; the children set num_labeled.
# Network and training follow AdaptSegNet ([22] in the paper, §4.1):
# DeepLab-v2 ResNet-101 initialised from the COCO-pretrained DeepLab
# checkpoint (tools/model_converters/deeplabv2_coco.py), its Caffe input
# normalisation (BGR, ImageNet mean, no std), classifier lr x10,
# output-space discriminator 64-128-256-512 on the softmax maps.
_base_ = [
    '../_base_/models/deeplabv2_r101_coco.py',
    '../_base_/uda/ass.py',
    '../_base_/datasets/ass_gta2city.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_ass_150k.py',
]
# The Caffe input normalisation of the model base (deeplabv2_r101_coco.py)
# for the source and target batches; whole 1280x720 / 1024x512 images (no
# crops): pad to a multiple of 8.
ass_data_preprocessor = dict(
    _base_.data_preprocessor, type='UDADataPreProcessor', size=None,
    size_divisor=8)
# the method's settings: configs/_base_/uda/ass.py
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    data_preprocessor=ass_data_preprocessor)
# One optimizer per network (§4.2): the schedule's SGD for the segmentor,
# `disc_optim` for every discriminator; poly 0.9 over 250k iterations for
# every learning rate, stop at 150k (schedule_ass_150k.py).
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    student=_base_.optim_wrapper,
    global_discriminator=_base_.disc_optim)
param_scheduler = dict(
    _delete_=True,
    student=_base_.param_scheduler,
    global_discriminator=_base_.param_scheduler)
default_hooks = dict(checkpoint=dict(interval=5000))
# writes {work_dir}/labeled_split.txt (the labelled Cityscapes images)
custom_hooks = [dict(type='SaveLabeledSplitHook')]
