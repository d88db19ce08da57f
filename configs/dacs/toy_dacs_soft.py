# Ablation (thesis Table 5.1 "no pseudo-labels"): train the mixed batch
# against the mixed teacher softmax (soft targets) instead of argmax
# pseudo-labels.
_base_ = ['./toy_dacs.py']
model = dict(soft_targets=True)
