# Embedded toy benchmark, "target" domain (textured "real day" with a
# per-class colour shift).
# The same pipelines and loaders as toy_source.py, on another domain.
_base_ = ['./toy_source.py']
toy_domain = 'target'
train_dataloader = dict(dataset=dict(domain=toy_domain))
val_dataloader = dict(dataset=dict(domain=toy_domain))
test_dataloader = val_dataloader
