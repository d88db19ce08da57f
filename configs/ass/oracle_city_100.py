# ASS Table 1 oracle: Cityscapes only, 100 labelled images: 43.6 mIoU.
_base_ = './oracle_r101_city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=100))
