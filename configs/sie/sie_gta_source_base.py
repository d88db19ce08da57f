# The GTA5 source stream of the SIE configs (Subhani & Ali, ECCV 2020):
# GTA5 at 1280x720 (the authors' image size), batch 1 (paper / authors'
# code "LSE"), no random transform. The sampler must be DefaultSampler:
# every round restarts the source stream. Not a complete config: a child
# adds the model and ./sie_cityscapes_base.py.
_base_ = ['../_base_/datasets/gta.py']
sie_source_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(1280, 720), keep_ratio=False),
    dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='GTA5Dataset',
        data_root=_base_.gta_data_root,
        ann_file='train.txt',
        pipeline=sie_source_pipeline))
