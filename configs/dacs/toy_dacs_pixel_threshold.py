# Ablation (thesis §2.5.4 eq. 2.14, Table 5.1): per-pixel weights, 1 where the
# teacher's confidence passes tau = 0.968, else 0.
_base_ = ['./toy_dacs.py']
model = dict(pseudo_label=dict(mode='threshold', threshold=0.968))
