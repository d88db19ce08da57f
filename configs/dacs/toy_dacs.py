# DACS on the embedded toy benchmark (mmda/datasets/toy.py: 64x128 source
# renderings -> colour-shifted, textured target renderings), CPU-sized:
#   python tools/train.py configs/dacs/toy_dacs.py
# trains the tiny DeepLab-v2 (configs/_base_/models/deeplabv2_tiny.py) from
# scratch in a few minutes and prints the target-val mIoU at the end.
_base_ = ['./toy_dacs_base.py', '../_base_/datasets/uda_toy.py']
