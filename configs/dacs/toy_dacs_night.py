# DACS on the toy day -> night benchmark (target: the "night" renderings).
# Plain DACS struggles on a night shift without day->night translation
# (docs/methods.md#calibrating-the-toy-benchmark): this config shows how far
# it gets (tools/benchmarks/dacs_toy.py --target night).
_base_ = ['./toy_dacs_base.py', '../_base_/datasets/uda_toy_night.py']
