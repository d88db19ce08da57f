# DACS on the toy day -> night benchmark (target: the "night" renderings).
# METHODS.md ("Calibrating the toy benchmark") measured that plain DACS
# struggles on a night shift without day->night translation: this config
# shows how far it gets (tools/benchmarks/dacs_toy.py --target night).
_base_ = ['./toy_dacs_base.py', '../_base_/datasets/uda_toy_night.py']
