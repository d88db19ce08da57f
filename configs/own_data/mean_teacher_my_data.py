# The mean-teacher domain extension (Scherer et al.) from your source to your
# target (tutorial: docs/own_datasets.md).
#   python tools/train.py configs/own_data/mean_teacher_my_data.py
# Its toy base trains day -> night with a fixed day-to-night translator
# G_ST; for an arbitrary target there is no such translator, so the passes
# that need G_ST(x_s) are off: source supervision + the target (night-branch)
# consistency between teacher and student remain. For a day -> night pair,
# keep the base's translator (or a CycleGAN one, configs/cyclegan/) instead.
# Evaluated: the EMA teacher (the method's reported network).
_base_ = ['../mean_teacher/toy_full.py', './my_data_dataset.py']
model = dict(
    translator=None,
    sup_translated=False,
    day_consistency=False,
    segmentor=dict(
        data_preprocessor=dict(size={{_base_.my_crop_size}}),
        decode_head=dict(num_classes=6)))  # = len(my_classes)
# the Runner hands this one to the UDA model (both halves of the batches)
data_preprocessor = dict(size={{_base_.my_crop_size}})
# _delete_: replace the base's toy day/night loader instead of merging
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='UDADataset', source={{_base_.my_source_train}},
                 target={{_base_.my_target_train}}))
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset={{_base_.my_target_val}})
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
val_cfg = dict(_delete_=True, type='ValLoop')  # one target val set
test_cfg = dict(_delete_=True, type='TestLoop')
