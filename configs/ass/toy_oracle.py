# ASS Table 1 "Oracle" on the toy benchmark: the tiny DeepLab-v2 trained only
# on the num_labeled labelled toy-target images (same images as the toy ASS
# configs for the same num_labeled / split_seed), same segmentor optimiser
# and schedule.
_base_ = [
    '../_base_/models/deeplabv2_tiny.py',
    '../_base_/datasets/ass_toy_labeled.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_ass_toy_2000.py',
]
default_hooks = dict(
    checkpoint=dict(interval=_base_.max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='SaveLabeledSplitHook')]
randomness = dict(seed=0)
train_dataloader = dict(dataset=dict(num_labeled=25))
