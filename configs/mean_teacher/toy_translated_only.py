# Toy "Day2Night" row (Table 1, CycleGAN (+ FL) - Day2Night (CS)): translated
# day images only, batch 8, no SSL.
_base_ = ['./toy_source_only.py']
model = dict(
    translator=dict(_delete_=True, type='FixedDay2Night'),
    sup_day=False,
    sup_translated=True)
