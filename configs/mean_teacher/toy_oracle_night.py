# Toy oracle for the mean-teacher day -> night benchmark: the baseline row
# (toy_source_only.py: the same network, batch 8, schedule, EMA teacher
# evaluated on day and night) trained on the labelled toy *night* training
# images instead of the day ones; the upper bound of the night column
# (tools/benchmarks/mean_teacher_toy.py --rows oracle).
_base_ = ['./toy_source_only.py']
train_dataloader = dict(dataset=dict(domain='night'))
