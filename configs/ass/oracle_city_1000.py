# ASS Table 1 oracle: Cityscapes only, 1000 labelled images: 58.6 mIoU.
_base_ = './oracle_r101_city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=1000))
