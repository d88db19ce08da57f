# Source-only baseline for the toy night task: train on toy "source" (flat
# synthetic day), evaluate on toy "night" val. Compare with
# ./toy_night_oracle.py. (Scherer et al. train on real day images: use
# `--cfg-options train_dataloader.dataset.domain=target` for a "real day"
# source instead.)
_base_ = ['./toy_source_only.py']
val_dataloader = dict(dataset=dict(domain='night'))
test_dataloader = dict(dataset=dict(domain='night'))
