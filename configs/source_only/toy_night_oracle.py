# Oracle for the toy night task: trained on toy "night" labels, evaluated on
# toy "night" val.
_base_ = ['./toy_night_source_only.py']
train_dataloader = dict(dataset=dict(domain='night'))
