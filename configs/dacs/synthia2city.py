# DACS, SYNTHIA -> Cityscapes, thesis setting (tranheden_olsson2020 §4.1.3,
# Table 4.4: 48.34 mIoU over 16 classes, 54.81 over 13): as gta2city.py with
# SYNTHIA (760x1280) as source. Validation reports the 19-, 16- and 13-class
# means in one pass (`mIoU`, `16cls/mIoU`, `13cls/mIoU`; terrain, truck and
# train do not occur in SYNTHIA, the 13 classes also drop wall, fence, pole).
_base_ = [
    './dacs_r101_coco_base.py',
    '../_base_/datasets/uda_synthia2city.py',
    '../_base_/datasets/synthia.py',  # for synthia_cityscapes_evaluator
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_250k.py',
]
# SGD of schedule_250k.py, classifier lr x 10 (as gta2city.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'student.decode_head': dict(lr_mult=10.0)}))
val_evaluator = _base_.synthia_cityscapes_evaluator
test_evaluator = val_evaluator
# checkpoint every validation of schedule_250k (the hooks are in default_runtime)
default_hooks = dict(checkpoint=dict(interval=10000))
