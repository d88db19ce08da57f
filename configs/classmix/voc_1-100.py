# ClassMix, semi-supervised Pascal VOC 2012 (+SBD) with 1/100 of the labels
# (thesis Table 4.2). Splits:
#   python tools/misc/make_semi_splits.py voc data/VOCdevkit/VOC2012 --seed 0
_base_ = './classmix_voc_base.py'
split = '1-100_seed0'
train_dataloader = dict(dataset=dict(
    source=dict(ann_file=f'splits/{split}_labeled.txt'),
    target=dict(ann_file=f'splits/{split}_unlabeled.txt')))
