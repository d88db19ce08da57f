# Toy baseline (Table 1 "Baseline - Daytime"): labelled day images only,
# batch 8 (as many labelled samples per step as the other rows), no
# translation, no SSL; the EMA teacher is kept and evaluated (§4.2).
_base_ = ['./toy_full.py']
model = dict(
    translator=None, sup_day=True, sup_translated=False,
    night_consistency=False, day_consistency=False)
# the day images alone (the data base's `mt_day_train_dataset`), batch 8
train_dataloader = dict(
    batch_size=8, dataset=dict(_base_.mt_day_train_dataset, _delete_=True))
custom_hooks = [dict(type='EMATeacherHook', alpha=0.99, interval=1)]
