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
    '../_base_/datasets/ass_gta2city.py',
    '../_base_/default_runtime.py',
]
# The Caffe input normalisation of the model base (deeplabv2_r101_coco.py)
# for the source and target batches; whole 1280x720 / 1024x512 images (no
# crops): pad to a multiple of 8.
ass_data_preprocessor = dict(
    _base_.data_preprocessor, type='UDADataPreProcessor', size=None,
    size_divisor=8)
model = dict(
    _delete_=True,
    type='ASS',
    segmentor={{_base_.model}},
    data_preprocessor=ass_data_preprocessor,
    # D_g: AdaptSegNet's fully convolutional discriminator (§4.1)
    global_discriminator=dict(
        type='OutputSpaceDiscriminator', channels=(64, 128, 256, 512)),
    # eq. 9-10. The paper gives no lambda_gadv: 0.001 is AdaptSegNet's
    # output-space weight (single level); lambda_sadv is set by the
    # FCSA / CSA bases (Table 2).
    lambda_seg=1.0,
    lambda_gadv=0.001,
    lambda_gd=1.0,
    lambda_sd=1.0)
# One optimizer per network (§4.2): SGD + Nesterov, momentum 0.9, weight
# decay 5e-4, lr 2.5e-4 (classifier x10 as in AdaptSegNet) for the segmentor;
# Adam(0.9, 0.99), lr 1e-4 for every discriminator.
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    student=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4,
            nesterov=True),
        paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}),
        clip_grad=None),
    global_discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99)),
        clip_grad=None))
# Poly 0.9 decay of every learning rate over AdaptSegNet's 250k iterations;
# training stops at 150k as in AdaptSegNet (NUM_STEPS_STOP).
poly_iters = 250000
param_scheduler = dict(
    student=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=poly_iters,
             by_epoch=False)
    ],
    global_discriminator=[
        dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=poly_iters,
             by_epoch=False)
    ])
train_cfg = dict(type='IterBasedTrainLoop', max_iters=150000,
                 val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=5000))
# writes {work_dir}/labeled_split.txt (the labelled Cityscapes images)
custom_hooks = [dict(type='SaveLabeledSplitHook')]
# The student and each discriminator get their own DDP wrapper; the model's
# own train_step runs (several backward passes, one step per optimizer).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
