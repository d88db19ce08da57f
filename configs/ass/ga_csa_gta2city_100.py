# ASS GA+CSA, GTA5 -> Cityscapes with 100 labelled Cityscapes images:
# 54.2 mIoU in Table 1 of Wang et al. 2020.
_base_ = './ga_csa_r101_gta2city_base.py'
train_dataloader = dict(dataset=dict(num_labeled=100))
