default_scope = 'mmda'
custom_imports = dict(imports=['mmda'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # without CUDA, mmda.utils.launch.setup_cpu_distributed (tools/train.py,
    # tools/test.py with a launcher) uses gloo instead
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='SegTTAModel')
# Hooks of every run, whichever entry point builds the runner (tools/train.py,
# tools/demo.py, the benchmarks or Runner.from_cfg). A config changes one
# entry (default_hooks = dict(checkpoint=dict(interval=...))); the guards are
# switched off by the keys below. The schedules set no hooks.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=4000,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # clear errors naming the file for wrong class counts / label ids / sizes
    sanity_check=dict(type='SanityCheckHook'),
    # skip optimizer steps with a non-finite loss or gradient and stop after
    # max_nonfinite_steps of them in a row (0 disables the guard) ...
    nonfinite_guard=dict(type='NonFiniteGuardHook'),
    # ... and undo the BatchNorm statistics of such a step's forward
    norm_stats_guard=dict(type='NormStatsGuardHook'))
sanity_check = True  # False: no SanityCheckHook checks
max_nonfinite_steps = 10  # 0: no non-finite guard
