# Cityscapes (labelled day) + Dark Zurich night + BDD100K night (unlabelled)
# for the mean-teacher domain extension (Scherer et al., 2021, §4.1, §4.2;
# docs/fidelity_mean_teacher_ass_sie.md):
# - images rescaled to 512x1024 (HxW), random 256x256 crops;
# - per iteration 4 day images, each with its day->night translation G_ST(x_s)
#   (8 labelled samples, the paper's batch of 8 with "50% transformed CS
#   images as well as 50% non-transformed images", §4.3) and 4 night images
#   for the consistency loss;
# - the translations are the offline "Day2Night (CS)" copy (Table 1 caption:
#   "translated to nighttime prior to the segmentation training"): whole
#   images translated once by tools/translate.py into `mt_day2night_dir`,
#   loaded with each day image and cropped/flipped with it
#   (Day2NightCityscapesDataset + LoadTranslatedImage +
#   PackTranslatedSegInputs). Write the folder with
#     python tools/translate.py configs/cyclegan/city2night.py \
#         work_dirs/city2night/iter_700000.pth \
#         --src data/cityscapes/leftImg8bit/train \
#         --out data/cityscapes_day2night/leftImg8bit/train --scale 0.5
#   (a missing folder raises an error with this command). The on-the-fly
#   variant (the generator translates each 256x256 crop, so its
#   InstanceNorm sees the crop's statistics, not the whole image's: not the
#   same images) is configs/mean_teacher/cs2night_online_translation.py;
# - validation during training (MultiDomainValLoop, for checkpoint
#   selection): Dark Zurich val night (50 labelled images, 19 classes,
#   prefix `dz_val/`; the configs keep the best checkpoint by
#   `dz_val/mIoU`) and Cityscapes val (prefix `day/`, monitored only);
# - testing (MultiDomainTestLoop), the two sets Table 1 reports: Cityscapes
#   val (19 classes, prefix `day/`) and Nighttime Driving test over its 17
#   annotated classes (SubsetIoUMetric classes='gt_present', prefix
#   `night/`). Neither reported set selects checkpoints: choosing the best
#   of 10 checkpoints on the 50 Nighttime Driving test images would report
#   a maximum over noisy evaluations of the test set itself.
# Prepare Cityscapes with mmseg's converter (gtFine *_labelTrainIds.png) and
# the BDD100K night list with tools/dataset_converters/bdd100k_night.py.
# Cityscapes val (the `day` domain of validation and testing, the Runner's
# val/test loaders), the labelled train split and the train loader's
# sampler/workers: cityscapes_val.py.
_base_ = './cityscapes_val.py'
mt_crop_size = (256, 256)
mt_cityscapes_root = _base_.cityscapes_root
# The offline "Day2Night (CS)" folder (tools/translate.py --out) and the
# CycleGAN checkpoint named in the missing-folder error.
mt_day2night_dir = 'data/cityscapes_day2night/leftImg8bit/train'
mt_day2night_checkpoint = 'work_dirs/city2night/iter_700000.pth'
# Pipeline steps (names starting with `__` stay out of the merged config).
# Resize to 1024x512 (w x h), 256x256 crops (with cat_max_ratio where labels
# are loaded), flips; a day image and its offline translation get the same
# resize/crop/flip (LoadTranslatedImage + PackTranslatedSegInputs).
__load, __labels = dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')
__load_translated = dict(type='LoadTranslatedImage')
__resize = dict(type='Resize', scale=(1024, 512), keep_ratio=True)
__crop = dict(type='RandomCrop', crop_size=mt_crop_size)
__crop_labelled = dict(__crop, cat_max_ratio=0.75)
__flip = dict(type='RandomFlip', prob=0.5)
__pack, __pack_pair = dict(type='PackSegInputs'), dict(
    type='PackTranslatedSegInputs')
# Day images alone (no translation): Table 1's baseline, and the on-the-fly
# translation variant.
mt_day_train_pipeline = [
    __load, __labels, __resize, __crop_labelled, __flip, __pack]
# Day image + its offline translation.
mt_day_pair_train_pipeline = [
    __load, __load_translated, __labels, __resize, __crop_labelled, __flip,
    __pack_pair]
# Unlabelled day image + its offline translation (the "all images from CS"
# day stream, configs/mean_teacher/cs2night_all_cs_day.py).
mt_day_pair_unlabelled_pipeline = [
    __load, __load_translated, __resize, __crop, __flip, __pack_pair]
# Unlabelled night images: no labels, so no cat_max_ratio.
mt_night_train_pipeline = [__load, __resize, __crop, __flip, __pack]
mt_test_pipeline = _base_.test_pipeline
mt_day_train_dataset = dict(
    _base_.cityscapes_train, pipeline=mt_day_train_pipeline)
__translation = dict(
    translator_config='configs/cyclegan/city2night.py',
    translator_checkpoint=mt_day2night_checkpoint,
    translate_scale=0.5)
mt_day_pair_train_dataset = dict(
    _base_.cityscapes_train,
    type='Day2NightCityscapesDataset',
    translated_dir=mt_day2night_dir,
    **__translation,
    pipeline=mt_day_pair_train_pipeline)
# "All images from CS" (§4.1: "For SSL training, we utilize all images from
# CS"): unlabelled day images for the day consistency pair (teacher on x,
# student on G_ST(x)), each with its offline translation; used by
# configs/mean_teacher/cs2night_all_cs_day.py (model.day_images='all').
# Splits: train (2975), train_extra (19998, leftImg8bit_trainextra.zip) and
# test (1525). Cityscapes val is left out on purpose: it is the day set
# Table 1 reports (add it to the list to follow "all" literally). Translate
# every split first, e.g. for train_extra
#   python tools/translate.py configs/cyclegan/city2night.py \
#       work_dirs/city2night/iter_700000.pth \
#       --src data/cityscapes/leftImg8bit/train_extra \
#       --out data/cityscapes_day2night/leftImg8bit/train_extra --scale 0.5
mt_all_cs_day_splits = ['train', 'train_extra', 'test']
mt_all_cs_day_dataset = dict(
    type='ConcatDataset',
    datasets=[
        dict(
            type='Day2NightCityscapesDataset',
            data_root=mt_cityscapes_root,
            data_prefix=dict(img_path=f'leftImg8bit/{split}'),
            translated_dir=f'data/cityscapes_day2night/leftImg8bit/{split}',
            **__translation,
            pipeline=mt_day_pair_unlabelled_pipeline)
        for split in mt_all_cs_day_splits
    ])
mt_night_train_dataset = dict(
    type='ConcatDataset',
    datasets=[
        dict(
            type='DarkZurichDataset',
            data_root='data/dark_zurich/',
            data_prefix=dict(img_path='rgb_anon/train/night'),
            pipeline=mt_night_train_pipeline),
        dict(
            type='BDD100KNightDataset',
            data_root='data/bdd100k/',
            ann_file='night_train.txt',
            data_prefix=dict(img_path='images/100k/train'),
            pipeline=mt_night_train_pipeline),
    ])
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type='UDADataset',
        source=mt_day_pair_train_dataset,
        target=mt_night_train_dataset))
# The `day` domain: cityscapes_val.py's loader and evaluator (the Runner's
# val/test loaders); MultiDomainValLoop adds `dz_val`, MultiDomainTestLoop
# adds `night`, with the same loader settings.
mt_day_val_dataloader = _base_.val_dataloader
mt_day_evaluator = _base_.val_evaluator
mt_night_test_dataloader = dict(
    _base_.val_dataloader,
    dataset=dict(
        type='NightDrivingDataset',
        data_root='data/nighttime_driving/',
        data_prefix=dict(
            img_path='leftImg8bit/test/night',
            seg_map_path='gtCoarse_daytime_trainvaltest/test/night'),
        pipeline=mt_test_pipeline))
# Checkpoint selection set: Dark Zurich val night (Sakaridis et al.; mmseg
# DarkZurichDataset: rgb_anon/val/night/**/*_rgb_anon.png,
# gt/val/night/**/*_gt_labelTrainIds.png). Its images are disjoint from the
# Dark Zurich *train* night images used as unlabelled target, and it is
# reported nowhere in Table 1. 19-class mIoU (IoUMetric: a class with no
# ground truth and no prediction is left out of the mean).
mt_night_select_dataloader = dict(
    _base_.val_dataloader,
    dataset=dict(
        type='DarkZurichDataset',
        data_root='data/dark_zurich/',
        data_prefix=dict(
            img_path='rgb_anon/val/night', seg_map_path='gt/val/night'),
        pipeline=mt_test_pipeline))
mt_night_select_evaluator = _base_.val_evaluator
mt_night_evaluator = dict(
    type='SubsetIoUMetric', classes='gt_present', iou_metrics=['mIoU'])
# Validation (and checkpoint selection, `dz_val/mIoU`) never touches the
# Nighttime Driving test set: it is evaluated only by the test loop.
val_cfg = dict(
    type='MultiDomainValLoop',
    domains=[
        dict(prefix='day'),
        dict(prefix='dz_val', dataloader=mt_night_select_dataloader,
             evaluator=mt_night_select_evaluator),
    ])
test_cfg = dict(
    type='MultiDomainTestLoop',
    domains=[
        dict(prefix='day'),
        dict(prefix='night', dataloader=mt_night_test_dataloader,
             evaluator=mt_night_evaluator),
    ])
