# ClassMix, semi-supervised Cityscapes with 1/30 (100 images) of the labels
# (thesis Table 4.1: 54.07 mIoU, baseline 43.84). Splits:
#   python tools/misc/make_semi_splits.py cityscapes data/cityscapes --seed 0
_base_ = './classmix_cityscapes_base.py'
split = '1-30_seed0'
train_dataloader = dict(dataset=dict(
    source=dict(ann_file=f'splits/{split}_labeled.txt'),
    target=dict(ann_file=f'splits/{split}_unlabeled.txt')))
