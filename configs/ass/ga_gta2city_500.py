# ASS GA, GTA5 -> Cityscapes with 500 labelled Cityscapes images:
# 56.5 mIoU in Table 1 of Wang et al. 2020.
_base_ = './ga_r101_gta2city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=500))
