# DAFormer + MIC on the embedded toy benchmark:
#   python tools/train.py configs/mic/toy_daformer_mic.py
# configs/daformer/toy_daformer.py plus MIC (mask ratio 0.7, lambda 1; the
# patch scaled to 8 pixels and the MIC loss weighted by the paper's
# confidence weight q_T with tau 0.968 while the toy host keeps its constant
# mix weight, as in toy_dacs_mic.py, whose header gives the reason).
_base_ = ['../daformer/toy_daformer.py', '../_base_/uda/mic.py']
# 8-pixel patches; MIC's own confidence weight q_T with tau 0.968
model = dict(mic=dict(_base_.mic, block_size=8, pseudo_threshold=0.968))
