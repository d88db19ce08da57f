# DACS on the toy benchmark with the thesis' default pseudo-label weight:
# the fraction of target pixels with teacher confidence >= 0.968, one scalar
# per batch (§2.5.4 eq. 2.15, §3.2, §5.2.1; the DACS code's
# `unlabeled_weight`). On the tiny from-scratch toy model this weight stays
# low and DACS barely beats source-only (tools/benchmarks/dacs_toy.py).
_base_ = ['./toy_dacs.py']
model = dict(pseudo_label=dict(mode='threshold_uniform', threshold=0.968,
                               reduce='batch'))
