# DACS + MIC on the embedded toy benchmark (source -> target):
#   python tools/train.py configs/mic/toy_dacs_mic.py
# configs/dacs/toy_dacs.py plus masked image consistency with the paper's
# mask ratio 0.7 and lambda 1, and the patch size scaled to the toy images:
# 64-pixel patches of a 512x512 crop are 1/8 of its side; 1/8 of the
# 64-pixel-high toy image is 8 pixels (8x16 patches per 64x128 image).
#
# MIC loss weight: the paper's q_T (MIC Sec. 3.2, eq. 6: the share of target
# pixels whose teacher confidence reaches tau, one value per batch; tau =
# 0.968 as DAFormer), set with `pseudo_threshold` (the authors'
# `mask_pseudo_threshold`). The MIC default (`None`, their 'same') reuses
# the host's weight, and the toy DACS host trains its *mix* loss with a
# constant weight 1 (a toy choice for the mixed images, half of which carry
# source labels; see configs/dacs/toy_dacs_base.py). Inherited by MIC,
# whose images are 100 % pseudo-labelled target, that constant weight is
# not the paper's method: the masked-image loss would train at full weight
# on the random teacher's labels from the first iteration
# (docs/daformer_mic.md, "Measured").  The mix loss keeps the toy DACS
# weight, so DACS and DACS + MIC differ by the MIC term only.
_base_ = ['../dacs/toy_dacs.py', '../_base_/uda/mic.py']
# 8-pixel patches; MIC's own confidence weight q_T with tau 0.968
model = dict(mic=dict(_base_.mic, block_size=8, pseudo_threshold=0.968))
