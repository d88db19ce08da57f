# DAFormer (Hoyer et al., CVPR 2022): DACS self-training (Sec. 3.1, this
# folder's dacs.py) with DAFormer's changes, written once:
# - colour jitter with p 0.8 (their mmseg/models/utils/dacs_transforms.py:
#   jitter strength 0.2 when U(0,1) > 0.2), blur p 0.5 as DACS;
# - pseudo-label weight = share of target pixels with max prob > tau = 0.968
#   (per batch, Sec. 3.1 / eq. 3-4), as dacs.py;
# - thing-class ImageNet feature distance: lambda_FD 0.005, classes 6, 7,
#   11-18, r 0.75, last encoder stage (Sec. 3.3, 4.1; their
#   configs/_base_/uda/dacs_a999_fdthings.py).
# teacher_bn, soft_targets, dist_align and the strong augmentation's `draw`
# come from dacs.py at their DACS defaults. Wrap a network with
#   model = dict(_base_.uda, _delete_=True, segmentor=_base_.model)
_base_ = ['./dacs.py']
uda = dict(
    type='DAFormer',
    strong_aug=dict(color_jitter_p=0.8),
    feature_dist=dict(
        loss_weight=0.005,
        thing_classes=[6, 7, 11, 12, 13, 14, 15, 16, 17, 18],
        min_ratio=0.75,
        feature_index=-1))
