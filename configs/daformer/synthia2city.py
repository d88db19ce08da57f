# DAFormer, SYNTHIA -> Cityscapes (Hoyer et al., CVPR 2022, Table 3: 60.9
# mIoU over 16 classes):
#   python tools/train.py configs/daformer/synthia2city.py
# As gta2city.py (method, schedule, target pipeline, rare-class sampling)
# with SYNTHIA as source, the authors'
# configs/_base_/datasets/uda_synthia_to_cityscapes_512x512.py pipeline:
# SYNTHIA resized to fit 1280x760, 512x512 crops with cat_max_ratio 0.75,
# flips. Validation reports the 19-, 16- and 13-class means in one pass
# (`mIoU`, `16cls/mIoU`, `13cls/mIoU`; SYNTHIA has no terrain, truck,
# train). Needs the SYNTHIA class statistics of
# tools/dataset_converters/synthia.py for rare-class sampling.
_base_ = [
    './gta2city.py',
    '../_base_/datasets/synthia.py',  # source pipeline, evaluator
]
synthia_root = 'data/synthia/'
# the authors' SYNTHIA pipeline is synthia.py's: resize to fit 1280x760,
# 512x512 crops with cat_max_ratio 0.75, flips
source_train_pipeline = _base_.synthia_train_pipeline
train_dataloader = dict(
    dataset=dict(
        source=dict(
            _delete_=True,
            type='SynthiaDataset',
            data_root=synthia_root,
            ann_file='train.txt',
            pipeline=source_train_pipeline)))
val_evaluator = _base_.synthia_cityscapes_evaluator
test_evaluator = val_evaluator
