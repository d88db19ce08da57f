# Cityscapes, whole images resized to 1024x512 (w x h) for training (no
# crop; the 512x1024 images of Scherer et al. §4.2, AdaptSegNet-style
# DeepLabV2 training), evaluated at 1024x512. Same names as
# cityscapes_512x512.py (use one of the two).
_base_ = ['./cityscapes_512x512.py']
# the whole resized image (h, w), e.g. for the data preprocessor `size`
cityscapes_crop_size = (512, 1024)
# cityscapes_512x512.py's pipelines without the crop
cityscapes_train_pipeline = [
    step for step in _base_.cityscapes_train_pipeline
    if step.type != 'RandomCrop']
cityscapes_target_pipeline = [
    step for step in _base_.cityscapes_target_pipeline
    if step.type != 'RandomCrop']
cityscapes_train_dataset = dict(pipeline=cityscapes_train_pipeline)
cityscapes_target_dataset = dict(pipeline=cityscapes_target_pipeline)
cityscapes_train_dataloader = dict(dataset=cityscapes_train_dataset)
