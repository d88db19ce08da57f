# Source-only baseline, Cityscapes (day) -> Dark Zurich (night): DeepLab-v2
# ResNet-101 trained on labelled Cityscapes, evaluated on the 50 labelled Dark
# Zurich val night images (19 classes). Scherer et al. (2021, Table 1) report
# this "baseline" as 68.8 mIoU on Cityscapes and 35.0 on night images (their
# DeepLab-v2 VGG16, Adam 1e-4, batch 8 of 256x256 crops, 50k iterations; here
# the shared ResNet-101 / SGD 40k setting of the other source-only configs).
# The day score is the oracle of ./gta2city_oracle.py, of which this config
# changes the evaluation set only. There is no night oracle: Dark Zurich has
# no labelled night training set.
_base_ = ['./gta2city_oracle.py', '../_base_/datasets/dark_zurich.py']
val_dataloader = dict(_delete_=True, **_base_.dark_zurich_val_dataloader)
test_dataloader = dict(_delete_=True, **_base_.dark_zurich_val_dataloader)
val_evaluator = dict(_delete_=True, **_base_.dark_zurich_evaluator)
test_evaluator = dict(_delete_=True, **_base_.dark_zurich_evaluator)
