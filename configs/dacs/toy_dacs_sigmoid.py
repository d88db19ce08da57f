# Ablation (thesis §2.5.4 eq. 2.13, Fig. 2.9, Table 5.1): sigmoid ramp-up of
# the unsupervised weight, exp(-c (1 - k / k_max)^2) with c = 5; k_max scaled
# from the thesis' 10k of 40k iterations to a quarter of the toy schedule.
_base_ = ['./toy_dacs.py']
model = dict(
    pseudo_label=dict(mode='sigmoid', ramp_iters=150, ramp_c=5.0))
