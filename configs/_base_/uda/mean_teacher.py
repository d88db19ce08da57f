# Mean-teacher domain extension (Scherer et al., DeLTA 2021, §3.3, §4.2;
# docs/fidelity_mean_teacher_ass_sie.md): the method's segmentor settings,
# written once. Wrap a network with
#   model = dict(_base_.uda, _delete_=True, segmentor=_base_.model, ...)
# and add where G_ST(x_s) comes from (`translation` / `translator`).
uda = dict(
    type='MeanTeacherUDA',
    # EMA teacher; the teacher is evaluated (§4.2)
    teacher=True,
    eval_model='teacher',
    # supervised CE on day images and their day->night translation G_ST(x_s)
    sup_day=True,
    sup_translated=True,
    # consistency on night (A_w vs A_s) and on day (x_s to the teacher vs
    # G_ST(x_s) to the student)
    night_consistency=True,
    day_consistency=True,
    # A_w / A_s: noise + colour jitter (the paper names the kind, not the
    # strength: ours)
    weak_aug=dict(
        type='NightAugmentation', noise_std=(0.0, 3.0), brightness=0.1,
        contrast=0.1, saturation=0.1, hue=0.02),
    strong_aug=dict(
        type='NightAugmentation', noise_std=(0.0, 12.0), brightness=0.4,
        contrast=0.4, saturation=0.4, hue=0.1),
    # rho and lambda_ssl: scheduled by a ParamRampHook in the config
    confidence_threshold=0.5,
    ssl_weight=0.0,
    # squared error of softmax maps, masked by teacher confidence >= rho
    consistency_loss=dict(type='MaskedConsistencyLoss', reduction='mean'),
    consistency_size='logits',
    night_mask_input='clean',
    # dropout in the student only for the consistency passes
    student_dropout=True)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
