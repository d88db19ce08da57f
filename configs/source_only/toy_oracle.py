# Oracle on the embedded toy benchmark: the same model and schedule as
# ./toy_source_only.py, trained on toy "target" labels, evaluated on toy
# "target" val (the upper bound of adaptation from toy source to target).
_base_ = ['./toy_source_only.py']
train_dataloader = dict(dataset=dict(domain='target'))
