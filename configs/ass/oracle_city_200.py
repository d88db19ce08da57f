# ASS Table 1 oracle: Cityscapes only, 200 labelled images: 47.1 mIoU.
_base_ = './oracle_r101_city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=200))
