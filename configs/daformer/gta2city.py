# DAFormer, GTA5 -> Cityscapes (Hoyer et al., CVPR 2022, Table 3: 68.3 mIoU):
#   python tools/train.py configs/daformer/gta2city.py
# MiT-B5 + DAFormer decoder, DACS self-training with EMA 0.999, rare-class
# sampling, thing-class ImageNet feature distance, AdamW with warm-up
# (configs/daformer/daformer_mitb5_base.py). Data as the authors'
# configs/_base_/datasets/uda_gta_to_cityscapes_512x512.py: GTA5 resized to
# 1280x720, Cityscapes to 1024x512, 512x512 crops (source with cat_max_ratio
# 0.75), flips, batch 2 + 2.
# Needs checkpoints/mit_b5_mmseg.pth (configs/_base_/models/mit_b5_daformer.py)
# and the GTA5 class statistics of tools/dataset_converters/gta.py.
_base_ = [
    './daformer_mitb5_base.py',
    '../_base_/datasets/uda_gta2city_daformer.py',
]
# Rare-class sampling (Sec. 3.3, eq. 6): T = 0.01; min_pixels 3000 and
# min_crop_ratio 0.5 from the authors' config
# (gta2cs_uda_warm_fdthings_rcs_croppl_a999_daformer_mitb5_s0.py).
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        rare_class_sampling=dict(
            class_temp=0.01, min_pixels=3000, min_crop_ratio=0.5)))
