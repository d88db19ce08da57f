# Table 1 row "Baseline - Daytime (CS)" of Scherer et al. (2021) (reported
# 68.8 CS / 35.0 Nighttime Driving mIoU): labelled day images only, batch 8,
# no translation and no SSL; the EMA teacher is still kept and evaluated
# (§4.2: "For those trainings without SSL, we still maintain an EMA version
# of the segmentation network").
_base_ = ['./cs2night.py']
model = dict(
    translator=None, sup_day=True, sup_translated=False,
    night_consistency=False, day_consistency=False)
# the day images alone (the data base's `mt_day_train_dataset`), batch 8
train_dataloader = dict(
    batch_size=8, dataset=dict(_base_.mt_day_train_dataset, _delete_=True))
custom_hooks = [dict(type='EMATeacherHook', alpha=0.999, interval=1)]
