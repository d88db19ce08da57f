# ASS (Wang et al. 2020, "Alleviating Semantic-level Shift", §3.1-3.2, §4;
# docs/methods.md#ass), global adaptation: the method's segmentor settings,
# written once. Wrap a network with
#   model = dict(_base_.uda, _delete_=True, segmentor=_base_.model)
# The GA+FCSA / GA+CSA configs add `semantic_discriminator` and
# `lambda_sadv` (Table 2).
uda = dict(
    type='ASS',
    # D_g: AdaptSegNet's fully convolutional discriminator (§4.1)
    global_discriminator=dict(
        type='OutputSpaceDiscriminator', channels=(64, 128, 256, 512)),
    # eq. 9-10. The paper gives no lambda_gadv: 0.001 is AdaptSegNet's
    # output-space weight (single level).
    lambda_seg=1.0, lambda_gadv=0.001, lambda_gd=1.0, lambda_sd=1.0)
# Adam(0.9, 0.99), lr 1e-4 for every discriminator (§4.2); the segmentor's
# optimiser is the schedule's (schedules/schedule_ass_150k.py).
disc_optim = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99)),
    clip_grad=None)
# The student and each discriminator get their own DDP wrapper; the model's
# own train_step runs (several backward passes, one step per optimizer).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
