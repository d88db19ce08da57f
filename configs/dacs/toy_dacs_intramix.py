# Ablation (thesis §5.2.2, Table 5.2): IntraMix -- mix two target images
# with their pseudo-labels (the SSL ClassMix pipeline) instead of pasting
# source classes onto the target. The thesis observes a collapse of several
# classes (35.1 vs 52.1 mIoU on GTA5 -> Cityscapes).
_base_ = ['./toy_dacs.py']
model = dict(mix_domain='intra')
