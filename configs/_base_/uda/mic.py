# MIC (Hoyer et al., CVPR 2023; mmda/models/uda/masking.py): masked image
# consistency on a DACS/DAFormer host, written once. The target image is
# colour-augmented and masked with random 64x64 patches (mask ratio 0.7, one
# mask per image), the student predicts it, and the loss is the
# confidence-weighted CE against the teacher's pseudo-label of the full
# target (lambda_M = 1) (MIC Sec. 3.2, 4.1; the authors'
# seg/configs/mic/gtaHR2csHR_mic_hrda.py: mask_mode 'separatetrgaug',
# mask_alpha/mask_pseudo_threshold 'same', mask_lambda 1, mask_generator
# block 64 / 0.7). A config over a complete host config adds it with
#   model = dict(mic=_base_.mic)
mic = dict(
    mask_ratio=0.7, block_size=64, per_image=True, loss_weight=1.0,
    color_aug=True)
