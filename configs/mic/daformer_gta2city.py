# MIC on DAFormer, GTA5 -> Cityscapes (Hoyer et al., CVPR 2023):
#   python tools/train.py configs/mic/daformer_gta2city.py
# configs/daformer/gta2city.py plus masked image consistency
# (mmda/models/uda/masking.py): the target image is colour-augmented and
# masked with random 64x64 patches (mask ratio 0.7, one mask per image), the
# student predicts it, and the loss is the confidence-weighted CE against the
# teacher's pseudo-label of the full target (lambda_M = 1) (MIC Sec. 3.2,
# 4.1; the authors' seg/configs/mic/gtaHR2csHR_mic_hrda.py: mask_mode
# 'separatetrgaug', mask_alpha/mask_pseudo_threshold 'same', mask_lambda 1,
# mask_generator block 64 / 0.7). The MIC paper's headline result (75.9 mIoU)
# is MIC on HRDA; this config is MIC on DAFormer at 512x512 (HRDA's
# multi-resolution training is not built, see docs/daformer_mic.md).
_base_ = ['../daformer/gta2city.py', '../_base_/uda/mic.py']
model = dict(mic=_base_.mic)
