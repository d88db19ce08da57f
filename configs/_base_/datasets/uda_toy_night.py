# Embedded toy benchmark, day "source" -> "night" target (darkened, tinted,
# noisy renderings with lights; mmda/datasets/toy.py). The same pipelines and
# loaders as uda_toy.py; validation/test on the night val split.
_base_ = ['./uda_toy.py']
toy_domain = 'night'
train_dataloader = dict(dataset=dict(target=dict(domain=toy_domain)))
val_dataloader = dict(dataset=dict(domain=toy_domain))
test_dataloader = val_dataloader
