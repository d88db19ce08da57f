# ClassMix, semi-supervised Cityscapes with 1/4 (744 images) of the labels
# (thesis Table 4.1: 63.63 mIoU, baseline 60.08). Splits:
#   python tools/misc/make_semi_splits.py cityscapes data/cityscapes --seed 0
_base_ = './classmix_cityscapes_base.py'
split = '1-4_seed0'
train_dataloader = dict(dataset=dict(
    source=dict(ann_file=f'splits/{split}_labeled.txt'),
    target=dict(ann_file=f'splits/{split}_unlabeled.txt')))
