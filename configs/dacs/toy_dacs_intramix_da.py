# Ablation (thesis §2.5.6, §5.2.2, Table 5.2 "Distribution Aligned
# IntraMix"): IntraMix with the teacher probabilities rescaled by
# p(y) / p~(y) (p~ an EMA, alpha 0.99, of the pseudo-label class
# frequencies), p(y) the target class distribution computed from the target
# training labels as in the thesis (an oracle quantity). Toy target train
# pixel frequencies (400 images, train ids 0-18), computed with
#   np.bincount over ~/.cache/mmda/toy_v1/target/labels/train/*.png
_base_ = ['./toy_dacs_intramix.py']
model = dict(
    dist_align=dict(
        _delete_=True,
        type='DistributionAlignment',
        num_classes=19,
        momentum=0.99,
        stat='hard',
        target_dist=[
            0.18528, 0.18113, 0.18181, 0.0, 0.0, 0.01057, 0.0, 0.00285,
            0.03594, 0.1188, 0.24119, 0.00794, 0.0, 0.0345, 0.0, 0.0, 0.0,
            0.0, 0.0
        ]))
