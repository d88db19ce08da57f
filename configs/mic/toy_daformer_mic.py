# DAFormer + MIC on the embedded toy benchmark:
#   python tools/train.py configs/mic/toy_daformer_mic.py
# configs/daformer/toy_daformer.py plus MIC (mask ratio 0.7, lambda 1; the
# patch scaled to 8 pixels as in toy_dacs_mic.py).
_base_ = ['../daformer/toy_daformer.py']
model = dict(
    mic=dict(
        mask_ratio=0.7, block_size=8, per_image=True, loss_weight=1.0,
        color_aug=True))
