# Embedded toy benchmark, "night" domain (textured, dark, tinted, noisy, with
# street-light and car-light glows).
# The same pipelines and loaders as toy_source.py, on another domain.
_base_ = ['./toy_source.py']
toy_domain = 'night'
train_dataloader = dict(dataset=dict(domain=toy_domain))
val_dataloader = dict(dataset=dict(domain=toy_domain))
test_dataloader = val_dataloader
