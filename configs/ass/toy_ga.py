# ASS "GA" (global output-space adaptation only) on the toy benchmark:
#   python tools/train.py configs/ass/toy_ga.py
# num_labeled labelled toy-target images (seeded subset, split_seed).
_base_ = ['./toy_ga_base.py', '../_base_/datasets/ass_toy.py']
train_dataloader = dict(dataset=dict(num_labeled=25))
