# Nighttime Driving test set (Dai & Van Gool; 50 coarsely labelled night
# images) through mmseg's NightDrivingDataset:
# `leftImg8bit/test/night/*_leftImg8bit.png`,
# `gtCoarse_daytime_trainvaltest/test/night/*_gtCoarse_labelTrainIds.png`
# (as downloaded; no conversion needed).
#
# Composable dataset base: every name here starts with `night_driving_` (see
# gta.py for how to wire it). Only 17 of the 19 classes are annotated in
# this test set and Scherer et al. (§4.1) report over those 17: the
# evaluator averages over the classes that have ground-truth pixels
# (SubsetIoUMetric classes='gt_present').
night_driving_dataset_type = 'NightDrivingDataset'
night_driving_data_root = 'data/nighttime_driving/'
night_driving_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=True),
    dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
night_driving_test_dataset = dict(
    type=night_driving_dataset_type,
    data_root=night_driving_data_root,
    data_prefix=dict(
        img_path='leftImg8bit/test/night',
        seg_map_path='gtCoarse_daytime_trainvaltest/test/night'),
    pipeline=night_driving_test_pipeline)
night_driving_test_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=night_driving_test_dataset)
night_driving_evaluator = dict(
    type='SubsetIoUMetric', classes='gt_present', iou_metrics=['mIoU'])
