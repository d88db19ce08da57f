# Mean-teacher domain extension, Cityscapes (day) -> night (Scherer et al.,
# DeLTA 2021, §3.3, §4.2; docs/fidelity_mean_teacher_ass_sie.md):
# full method, Table 1 row "SSL + CycleGAN + FL - (CS + Day2Night (CS) + DZ +
# BDD)" (reported 68.2 CS / 56.5 Nighttime Driving mIoU).
# - DeepLab-v2 VGG16 (LargeFOV, dropout 0.5 after fc6 and fc7) student and
#   EMA teacher (alpha 0.999); the teacher is evaluated (§4.2);
# - supervised CE on day images and their day->night translation G_ST(x_s)
#   by the EMA generator of configs/cyclegan/city2night.py (CycleGAN +
#   feature loss), translated offline, before segmentation training, as in
#   Table 1 ("Day2Night (CS)": model.translation='offline', the folder
#   `mt_day2night_dir` of configs/_base_/datasets/mt_cs2night.py);
#   cs2night_online_translation.py translates the crops on the fly instead
#   (not the same images: InstanceNorm sees only the 256x256 crop);
# - consistency (squared error of softmax maps, masked by teacher confidence
#   >= rho) on night (A_w vs A_s: noise + colour jitter) and on day
#   (x_s to the teacher vs G_ST(x_s) to the student); dropout in the student
#   only for these passes;
# - rho linear 0.5 -> 0.9 over training; lambda_ssl 0 during a 10k-iteration
#   warm-up, then linear 50 -> 100 (ParamRampHook);
# - Adam lr 1e-4 (constant: no schedule is given), 50k iterations, 256x256
#   crops of 512x1024 images, 4 day (+4 translated) + 4 night per iteration.
# Needed before training (nothing is downloaded):
#   checkpoints/vgg16_deeplab_largefov_mmda.pth  (see deeplabv2_vgg16.py)
#   data/cityscapes_day2night/leftImg8bit/train: the translated copy,
#     python tools/train.py configs/cyclegan/city2night.py
#     python tools/translate.py configs/cyclegan/city2night.py \
#         work_dirs/city2night/iter_700000.pth \
#         --src data/cityscapes/leftImg8bit/train \
#         --out data/cityscapes_day2night/leftImg8bit/train --scale 0.5
# Checkpoint selection: the best `dz_val/mIoU` (Dark Zurich val night), see
# default_hooks.checkpoint.
_base_ = [
    '../_base_/models/deeplabv2_vgg16.py',
    '../_base_/uda/mean_teacher.py',
    '../_base_/datasets/mt_cs2night.py',
    '../_base_/default_runtime.py',
]
crop_size = (256, 256)
# Used by the UDA data pre-processor (pads training crops to this size).
data_preprocessor = dict(size=crop_size)
# the method's settings: configs/_base_/uda/mean_teacher.py
model = dict(
    _base_.uda,
    _delete_=True,
    segmentor=_base_.model,
    # G_ST(x_s) from the offline Day2Night (CS) copy (Table 1 caption)
    translation='offline',
    translator=None,
    # day consistency pair on the labelled train images; §4.1's "all images
    # from CS" is cs2night_all_cs_day.py (day_images='all')
    day_images='labelled')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.0),
    clip_grad=None)
param_scheduler = []
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=50000, val_interval=5000)
default_hooks = dict(
    checkpoint=dict(
        interval=5000,
        # best checkpoint by the Dark Zurich *val* night mIoU, never by a
        # set Table 1 reports (Nighttime Driving test, Cityscapes val):
        # configs/_base_/datasets/mt_cs2night.py
        max_keep_ckpts=2, save_best='dz_val/mIoU', rule='greater'))
custom_hooks = [
    dict(type='EMATeacherHook', alpha=0.999, interval=1),
    dict(
        type='ParamRampHook',
        ramps=[
            # rho: 0.5 -> 0.9 linearly over the whole training (§4.2)
            dict(attr='confidence_threshold', start=0.5, end=0.9),
            # lambda_ssl: no SSL loss in the warm-up (10k of the 50k
            # iterations), then 50 -> 100 (§4.2). Relative to
            # train_cfg.max_iters, so a shorter run keeps the proportions.
            dict(attr='ssl_weight', start=50.0, end=100.0,
                 begin_ratio=0.2, warmup_value=0.0),
        ]),
]
randomness = dict(seed=0)
