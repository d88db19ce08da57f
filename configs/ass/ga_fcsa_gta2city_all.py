# ASS GA+FCSA, GTA5 -> Cityscapes with all labelled Cityscapes images:
# 68.8 mIoU in Table 1 of Wang et al. 2020.
_base_ = './ga_fcsa_r101_gta2city_base.py'
train_dataloader = dict(dataset=dict(num_labeled='all'))
