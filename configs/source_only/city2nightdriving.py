# Source-only baseline, Cityscapes (day) -> Nighttime Driving test (50
# coarsely labelled night images): DeepLab-v2 ResNet-101 trained on labelled
# Cityscapes (./gta2city_oracle.py, of which this config changes the
# evaluation set only), evaluated over the 17 classes annotated in that set
# (SubsetIoUMetric classes='gt_present'), as Scherer et al. (2021, §4.1,
# Table 1: baseline 35.0 night mIoU). There is no night oracle (no labelled
# night training set); the day oracle is ./gta2city_oracle.py.
_base_ = ['./gta2city_oracle.py', '../_base_/datasets/night_driving.py']
val_dataloader = dict(_delete_=True, **_base_.night_driving_test_dataloader)
test_dataloader = dict(_delete_=True, **_base_.night_driving_test_dataloader)
val_evaluator = dict(_delete_=True, **_base_.night_driving_evaluator)
test_evaluator = dict(_delete_=True, **_base_.night_driving_evaluator)
