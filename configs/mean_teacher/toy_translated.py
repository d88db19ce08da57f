# Toy "Day2Night + Daytime" row (Table 1, CycleGAN + FL - Day2Night (CS) +
# Daytime (CS)): 4 day images and their 4 translations per batch, no SSL.
_base_ = ['./toy_full.py']
model = dict(
    sup_day=True,
    sup_translated=True,
    night_consistency=False,
    day_consistency=False)
custom_hooks = [dict(type='EMATeacherHook', alpha=0.99, interval=1)]
