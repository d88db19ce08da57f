# Ablation (thesis §2.5.2, Table 5.1): CutMix masks (one box of half the
# image area) instead of ClassMix.
_base_ = ['./toy_dacs.py']
model = dict(mix=dict(_delete_=True, type='CutMix', area_ratio=0.5))
