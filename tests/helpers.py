"""The one module of shared test helpers (``from tests.helpers import ...``).

* ``ROOT``: the repository root, for tests that read configs, docs and tools
  by path;
* tiny models of every trainable method, batches they accept and optim
  wrappers, so that step-level tests (AMP, gradient accumulation, step
  equivalence) build every method the same way. ``build(name)`` returns
  ``(model, batch_fn, optim_fn)``: ``batch_fn(seed)`` makes one collated
  (pre-``data_preprocessor``) batch and ``optim_fn(model,
  wrapper_type='OptimWrapper', **wrapper_kwargs)`` the optim wrapper (an
  ``OptimWrapperDict`` for the several-network models);
* ``load_benchmark(name)``: a script of tools/benchmarks/ as a module;
* ``RankStateHook``: a test-only hook that the DDP subprocess trainings load
  through ``custom_imports=dict(imports=['tests.helpers'])``.
"""
import copy
import importlib
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmda.registry import HOOKS, MODELS, OPTIM_WRAPPERS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BENCH = osp.join(ROOT, 'tools', 'benchmarks')
H, W = 32, 64
#: the trainable models of the repository (SIE trains through its loop)
METHODS = ('source_only', 'dacs', 'mean_teacher', 'ass', 'cyclegan')


def tiny_segmentor(h: int = H, w: int = W, dropout=0.1) -> dict:
    """configs/_base_/models/deeplabv2_tiny.py at (h, w); ``dropout`` before
    the classifier (``None``: the config's, i.e. none)."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'models', 'deeplabv2_tiny.py'))
    seg = copy.deepcopy(cfg.model.to_dict())
    seg['data_preprocessor']['size'] = (h, w)
    if dropout is not None:
        seg['decode_head']['dropout_ratio'] = dropout
    return seg


def seg_samples(labels):
    out = []
    for lab in labels:
        s = SegDataSample()
        if lab is not None:
            s.gt_sem_seg = PixelData(data=lab[None].long())
        s.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W),
                            pad_shape=(H, W)))
        out.append(s)
    return out


def uint8_images(n: int, g: torch.Generator, h: int = H, w: int = W):
    return [torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
            for _ in range(n)]


def labels(n: int, g: torch.Generator, num_classes: int = 5):
    return [torch.randint(0, num_classes, (H, W), generator=g)
            for _ in range(n)]


def uda_batch(seed: int = 0, n: int = 2, labeled: bool = False) -> dict:
    """A UDADataset (or, with ``labeled``, SemiTargetUDADataset) batch."""
    g = torch.Generator().manual_seed(seed)
    batch = dict(inputs=uint8_images(n, g),
                 data_samples=seg_samples(labels(n, g)))
    if labeled:
        batch['labeled_inputs'] = uint8_images(n, g)
        batch['labeled_data_samples'] = seg_samples(labels(n, g))
    batch['target_inputs'] = uint8_images(n, g)
    batch['target_data_samples'] = seg_samples([None] * n)
    return batch


def unpaired_batch(seed: int = 0, n: int = 2, h: int = 32,
                   w: int = 32) -> dict:
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=dict(img_a=uint8_images(n, g, h, w),
                            img_b=uint8_images(n, g, h, w)),
                data_samples=None)


def _wrapper(params, optimizer: dict, wrapper_type: str, **kwargs):
    optim_cfg = dict(optimizer)
    optim_type = getattr(torch.optim, optim_cfg.pop('type'))
    return OPTIM_WRAPPERS.build(
        dict(type=wrapper_type, optimizer=optim_type(params, **optim_cfg),
             **kwargs))


SGD = dict(type='SGD', lr=0.01, momentum=0.9)
ADAM = dict(type='Adam', lr=1e-3, betas=(0.9, 0.99))

TINY_GEN = dict(type='ResnetGenerator', base_channels=4, num_blocks=1)
TINY_DISC = dict(type='PatchDiscriminator', base_channels=4, num_layers=2)
TINY_VGG = dict(type='VGGFeatureLoss', arch=(4, 'M', 8),
                layer='block2_conv1', loss_weight=1.0)


def build(name: str, seed: int = 0, **kwargs):
    """``(model, batch_fn, optim_fn)`` of the tiny ``name`` model."""
    torch.manual_seed(seed)
    if name == 'source_only':
        cfg = dict(type='BaseUDASegmentor', segmentor=tiny_segmentor())
    elif name == 'dacs':
        cfg = dict(type='DACS', segmentor=tiny_segmentor(), teacher=True,
                   train_cfg=dict(seed=seed))
    elif name == 'mean_teacher':
        cfg = dict(type='MeanTeacherUDA', segmentor=tiny_segmentor(0.5),
                   teacher=True,
                   translator=dict(type='FixedDay2Night', noise_std=0.0),
                   confidence_threshold=0.0, ssl_weight=1.0,
                   train_cfg=dict(seed=seed))
    elif name == 'ass':
        cfg = dict(type='ASS', segmentor=tiny_segmentor(),
                   global_discriminator=dict(type='OutputSpaceDiscriminator',
                                             channels=(8, 16)),
                   semantic_discriminator=dict(type='CSADiscriminator',
                                               hidden_channels=32),
                   lambda_gadv=0.1, lambda_sadv=0.5, lambda_gd=0.7,
                   lambda_sd=0.9, train_cfg=dict(seed=seed))
    elif name == 'cyclegan':
        cfg = dict(type='CycleGAN', generator=TINY_GEN,
                   discriminator=TINY_DISC, feature_loss=TINY_VGG,
                   pool_size=4, ema_decay=0.9, pool_seed=seed)
    else:
        raise KeyError(f'unknown method {name!r}; one of {METHODS}')
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()

    if name == 'cyclegan':
        def batch_fn(s=0):
            return unpaired_batch(s)

        def optim_fn(m, wrapper_type='OptimWrapper', **wk):
            return OptimWrapperDict(**{
                k: _wrapper(getattr(m, k).parameters(),
                            dict(ADAM, betas=(0.5, 0.999)), wrapper_type,
                            **wk)
                for k in ('gen_a2b', 'gen_b2a', 'disc_a', 'disc_b')})
    elif name == 'ass':
        def batch_fn(s=0):
            return uda_batch(s, labeled=True)

        def optim_fn(m, wrapper_type='OptimWrapper', **wk):
            return OptimWrapperDict(
                student=_wrapper(m.student.parameters(), SGD, wrapper_type,
                                 **wk),
                global_discriminator=_wrapper(
                    m.global_discriminator.parameters(), ADAM, wrapper_type,
                    **wk),
                semantic_discriminator=_wrapper(
                    m.semantic_discriminator.parameters(), ADAM,
                    wrapper_type, **wk))
    else:
        def batch_fn(s=0):
            return uda_batch(s)

        def optim_fn(m, wrapper_type='OptimWrapper', **wk):
            return _wrapper([p for p in m.parameters() if p.requires_grad],
                            SGD, wrapper_type, **wk)
    return model, batch_fn, optim_fn


def trainable_state(model) -> dict:
    """Floating-point state (parameters and buffers) as detached copies."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if v.is_floating_point()}


# ------------------------------------------------------------- benchmarks
def load_benchmark(name: str):
    """``tools/benchmarks/{name}.py`` as ``tools.benchmarks.{name}``.

    ``tools.benchmarks`` is importable from the repository root (a namespace
    package; tests/conftest.py puts the root on ``sys.path``), so the scripts
    and their shared ``tools.benchmarks.harness`` are imported like any
    module.
    """
    return importlib.import_module(f'tools.benchmarks.{name}')


# ------------------------------------------------------------- DDP checks
@HOOKS.register_module()
class RankStateHook(Hook):
    """Save ``rank{r}_state.pth`` (state_dict, optimizer state, last log
    values) into the work dir after training, so that
    tests/integration/test_ddp_methods.py can check that DDP kept the ranks
    identical."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        # the loss values this rank computed (not all-reduced)
        if outputs:
            self._last_outputs = {
                k: float(v) for k, v in outputs.items()
                if torch.is_tensor(v) and v.numel() == 1}

    def after_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        state = dict(
            state_dict={k: v.detach().cpu().clone()
                        for k, v in model.state_dict().items()},
            optimizer=runner.optim_wrapper.state_dict(),
            outputs=getattr(self, '_last_outputs', {}),
            wrapper=type(runner.model).__name__,
            iter=runner.iter)
        torch.save(state, osp.join(runner.work_dir,
                                   f'rank{get_rank()}_state.pth'))


def flatten(obj, prefix: str = '') -> dict:
    """Flatten nested dicts/lists (e.g. an optimizer state) into
    ``'a.0.b' -> value`` pairs, for exact comparisons of saved states."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f'{prefix}{k}.'))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flatten(v, f'{prefix}{i}.'))
    else:
        out[prefix.rstrip('.')] = obj
    return out
