# DACS from your source to your target (tutorial: docs/own_datasets.md).
#   python tools/train.py configs/own_data/dacs_my_data.py
# The model and schedule come from the CPU-sized toy DACS config (tiny
# DeepLabV2 from scratch, 600 iterations); for real training swap the first
# base for '../dacs/dacs_r101_coco_base.py' (DeepLabV2-ResNet101, COCO
# weights: docs/pretrained_weights.md) plus a schedule such as
# '../_base_/schedules/schedule_40k.py'.
_base_ = ['../dacs/toy_dacs_base.py', './my_data_dataset.py']
model = dict(
    segmentor=dict(
        # batches are padded to the crop size
        data_preprocessor=dict(size={{_base_.my_crop_size}}),
        decode_head=dict(num_classes=6)))  # = len(my_classes)
# the Runner hands this one to the UDA model (both halves of the batches)
data_preprocessor = dict(size={{_base_.my_crop_size}})
train_dataloader = {{_base_.my_uda_train_dataloader}}
val_dataloader = {{_base_.my_target_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.my_evaluator}}
test_evaluator = val_evaluator
