# Semi-supervised GTA5 -> Cityscapes for ASS (Wang et al. 2020, §3, §5;
# docs/methods.md#ass): all labelled GTA5 images (source), a seeded random
# subset T_L of `num_labeled` labelled Cityscapes train images and the
# unlabelled rest T_U. Following AdaptSegNet (the code ASS builds on, §4.1):
# GTA5 resized to 1280x720 and Cityscapes to 1024x512 (w x h), whole images,
# batch 1 per stream, no other augmentation; evaluation on Cityscapes val at
# 1024x512 with predictions resized to the full-resolution labels.
# Prepare GTA5 with tools/dataset_converters/gta.py and Cityscapes with
# mmseg's converter (gtFine *_labelTrainIds.png).
#
# The labelled subset is chosen by `num_labeled` + `split_seed`, or listed in
# `split_file`; SaveLabeledSplitHook writes it to {work_dir}/labeled_split.txt
# (pass that file as split_file to repeat a run with the same images).
_base_ = './cityscapes_val.py'  # evaluation: Cityscapes val at 1024x512
gta_root = 'data/gta/'
source_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=False),
    dict(type='PackSegInputs'),
]
# T_L and T_U share this pipeline (T_U labels are never used by the model).
target_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1024, 512), keep_ratio=False),
    dict(type='PackSegInputs'),
]
cityscapes_train = dict(pipeline=target_train_pipeline)
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type='SemiTargetUDADataset',
        source=dict(
            type='GTA5Dataset',
            data_root=gta_root,
            ann_file='train.txt',
            data_prefix=dict(img_path='images', seg_map_path='labels'),
            pipeline=source_train_pipeline),
        target=dict(_base_.cityscapes_train, pipeline=target_train_pipeline),
        num_labeled=100,
        split_file=None,
        split_seed=0,
        unlabeled='rest'))
