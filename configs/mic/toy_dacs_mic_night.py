# DACS + MIC on the embedded toy benchmark, day source -> night target
# (configs/dacs/toy_dacs_night.py plus MIC as in toy_dacs_mic.py, whose
# header gives the reason for MIC's own confidence weight, tau 0.968).
_base_ = ['../dacs/toy_dacs_night.py']
model = dict(
    mic=dict(
        mask_ratio=0.7, block_size=8, per_image=True, loss_weight=1.0,
        color_aug=True, pseudo_threshold=0.968))
