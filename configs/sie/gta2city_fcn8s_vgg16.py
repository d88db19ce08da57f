# Scale-invariant examples, GTA5 -> Cityscapes, VGG16-FCN8s (Subhani & Ali,
# ECCV 2020). The abstract credits this backbone with a lead of +1.3 mIoU
# over prior self-training on GTA5 -> Cityscapes; it gives no absolute
# FCN8s number. (The absolute GTA5 -> Cityscapes mIoU listed with the
# abstract names no backbone; its road IoU points to DeepLabV2-ResNet101,
# see gta2city_deeplabv2_r101.py.)
# Model, loss and optimiser: ./sie_vgg16_base.py; rounds (2 epochs
# per round, 4 patches of 256x512 from 512x1024 target images):
# ./sie_cityscapes_base.py; source: GTA5 at 1280x720, batch 1.
#
# Start from a GTA5-trained FCN8s (./gta2city_fcn8s_vgg16_source_only.py):
#   python tools/train.py configs/sie/gta2city_fcn8s_vgg16_source_only.py
#   python tools/train.py configs/sie/gta2city_fcn8s_vgg16.py \
#       --cfg-options load_from=work_dirs/gta2city_fcn8s_vgg16_source_only/iter_40000.pth
_base_ = ['./sie_vgg16_base.py', './sie_gta_source_base.py']
