# ASS Table 1 oracle: Cityscapes only, all labelled images: 65.9 mIoU.
_base_ = './oracle_r101_city_base.py'
train_dataloader = dict(dataset=dict(num_labeled='all'))
