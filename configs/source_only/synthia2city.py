# Source-only baseline, SYNTHIA (RAND_CITYSCAPES) -> Cityscapes: DeepLab-v2
# ResNet-101 trained on SYNTHIA labels only, evaluated on Cityscapes val with
# the 19-class mIoU and the 16- and 13-class mIoUs of the UDA literature
# (keys `mIoU`, `16cls/mIoU`, `13cls/mIoU`; docs/methods.md#dataset-formats).
# Compare with ./synthia2city_oracle.py, whose model, schedule and
# evaluation this config keeps (only the training set changes).
_base_ = ['./synthia2city_oracle.py']
train_dataloader = dict(_delete_=True, **_base_.synthia_train_dataloader)
