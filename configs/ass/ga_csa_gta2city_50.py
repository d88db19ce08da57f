# ASS GA+CSA, GTA5 -> Cityscapes with 50 labelled Cityscapes images:
# 50.1 mIoU in Table 1 of Wang et al. 2020.
_base_ = './ga_csa_r101_gta2city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=50))
