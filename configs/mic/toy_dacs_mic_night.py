# DACS + MIC on the embedded toy benchmark, day source -> night target
# (configs/dacs/toy_dacs_night.py plus MIC as in toy_dacs_mic.py, whose
# header gives the reason for MIC's own confidence weight, tau 0.968).
_base_ = ['../dacs/toy_dacs_night.py', '../_base_/uda/mic.py']
# 8-pixel patches; MIC's own confidence weight q_T with tau 0.968
model = dict(mic=dict(_base_.mic, block_size=8, pseudo_threshold=0.968))
