# DACS + MIC on the embedded toy benchmark (source -> target):
#   python tools/train.py configs/mic/toy_dacs_mic.py
# configs/dacs/toy_dacs.py plus masked image consistency with the paper's
# mask ratio 0.7 and lambda 1, and the patch size scaled to the toy images:
# 64-pixel patches of a 512x512 crop are 1/8 of its side; 1/8 of the
# 64-pixel-high toy image is 8 pixels (8x16 patches per 64x128 image).
_base_ = ['../dacs/toy_dacs.py']
model = dict(
    mic=dict(
        mask_ratio=0.7, block_size=8, per_image=True, loss_weight=1.0,
        color_aug=True))
