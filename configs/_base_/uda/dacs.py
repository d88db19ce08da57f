# DACS (Tranheden, Olsson et al., "DACS: Domain Adaptation via Cross-domain
# Mixed Sampling" / thesis tranheden_olsson2020 ch. 3, §4.1.3;
# docs/methods.md#dacs): the method's segmentor settings, written once.
# A config that names the network base wraps it (configs/README.md):
#   _base_ = ['../_base_/models/<network>.py', '../_base_/uda/dacs.py', ...]
#   model = dict(_base_.uda, _delete_=True, segmentor=_base_.model)
uda = dict(
    type='DACS',
    # mean teacher for the pseudo-labels (thesis §2.5.5); DACS evaluates the
    # student (docs/methods.md#student-and-teacher).
    teacher=True,
    eval_model='student',
    # InterMix: ClassMix masks from the source ground truth, half of the
    # classes present (thesis §3.1, §3.2, Algorithm 1).
    mix=dict(type='ClassMix', proportion=0.5),
    mix_domain='inter',
    # colour jitter and Gaussian blur of the mixed images, each with
    # probability 0.5, drawn once per unsupervised *batch* (thesis §5.2.1,
    # §3.4); blur sigma U(0.15, 1.15), kernel 0.1 x image size (§3.4). The
    # thesis prints no jitter strength: 0.2 as DAFormer's DACS. The DACS
    # code differs: jitter with p = 0.8 (`colorJitter > 0.2`) and strength
    # 0.25 (utils/transformsgpu.py), factors and sigma per image; set
    # color_jitter_p=0.8, color_jitter_s=0.25 to follow it. draw='image'
    # draws everything per image (ablation).
    strong_aug=dict(
        type='StrongAugmentation',
        color_jitter_p=0.5,
        color_jitter_s=0.2,
        blur_p=0.5,
        blur_sigma=(0.15, 1.15),
        blur_kernel_ratio=0.1,
        draw='batch'),
    # threshold-proportional ("uniform") weight, tau = 0.968 (thesis §2.5.4
    # eq. 2.15, §3.2); lambda_u0 = 1 (§4.1.2). One weight per *batch*
    # (thesis §5.2.1 "rather than on whole batches, like we are doing now";
    # DACS code trainUDA.py `unlabeled_weight`, DAFormer dacs.py
    # `pseudo_weight`); reduce='image' is the per-image ablation.
    pseudo_label=dict(mode='threshold_uniform', threshold=0.968,
                      reduce='batch'),
    # The teacher's BatchNorm uses the target batch's own statistics, as the
    # DACS code's EMA model, which runs in train mode (trainUDA.py
    # `ema_model.train()`); its buffers are not changed. 'running' (eval
    # mode, running statistics) is the ablation.
    teacher_bn='batch',
    soft_targets=False,
    dist_align=None,
    mix_loss_weight=1.0)
# Each submodule with trainable parameters (the student) gets its own DDP;
# the model's own train_step runs (several backward passes, one step).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
