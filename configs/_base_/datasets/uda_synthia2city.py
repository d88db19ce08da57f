# SYNTHIA RAND_CITYSCAPES (labelled source) -> Cityscapes (unlabelled target),
# DACS thesis setting (§4.1.3): SYNTHIA kept at its 760x1280 size, Cityscapes
# resized to 512x1024, random 512x512 crops, batch 2 + 2.
# SYNTHIA has no terrain, truck and train: report the 16-class mIoU (and the
# 13-class one without wall, fence, pole) from the per-class IoUs
# (docs/methods.md#dataset-formats).
# Prepare SYNTHIA with tools/dataset_converters/synthia.py.
_base_ = './uda_gta2city.py'
synthia_root = 'data/synthia/'
# source pipeline: uda_gta2city.py's (SYNTHIA is 760x1280 already)
train_dataloader = dict(
    dataset=dict(
        source=dict(
            _delete_=True,
            type='SynthiaDataset',
            data_root=synthia_root,
            ann_file='train.txt',
            pipeline=_base_.source_train_pipeline)))
