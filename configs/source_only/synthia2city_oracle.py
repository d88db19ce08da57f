# Oracle for SYNTHIA -> Cityscapes: the model and schedule of
# ./synthia2city.py trained on the labelled Cityscapes train split instead
# (./gta2city_oracle.py), evaluated the same way (19, 16 and 13 classes) so
# that the numbers are directly comparable. (synthia.py is listed only for
# its evaluator.)
_base_ = ['./gta2city_oracle.py', '../_base_/datasets/synthia.py']
val_evaluator = _base_.synthia_cityscapes_evaluator
test_evaluator = val_evaluator
