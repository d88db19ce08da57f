# ASS Table 1 oracle: Cityscapes only, 50 labelled images: 39.5 mIoU.
_base_ = './oracle_r101_city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=50))
