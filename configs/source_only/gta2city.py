# Source-only baseline, GTA5 -> Cityscapes: DeepLab-v2 ResNet-101 trained on
# GTA5 labels only, evaluated on Cityscapes val (19 classes). The reference
# numbers are source-only 32.85 mIoU in the DACS thesis (Table 4.3, COCO
# init, 250k iterations) and ~33-37 in later papers (docs/methods.md
# #calibrating-the-toy-benchmark); compare with ./gta2city_oracle.py, whose
# model, schedule and evaluation this config keeps (only the training set
# changes).
# For the COCO-pretrained DeepLab of the DACS/AdaptSegNet code replace the
# model base by ../_base_/models/deeplabv2_r101_coco.py.
_base_ = ['./gta2city_oracle.py', '../_base_/datasets/gta.py']
train_dataloader = dict(_delete_=True, **_base_.gta_train_dataloader)
