# city2night.py (CycleGAN + feature loss, Scherer et al. 2021) trained with
# "all images of the CS dataset as daytime images" (§4.1): Cityscapes train
# (2975), train_extra (19998) and test (1525) as domain A; val, the day set
# of Table 1, is left out (configs/_base_/datasets/unpaired_city2night.py,
# `unpaired_day_sources_all_cs`). city2night.py uses the train images only.
_base_ = ['./city2night.py']
train_dataloader = dict(
    dataset=dict(
        domain_a=dict(sources=_base_.unpaired_day_sources_all_cs)))
