"""State of the self-training loop: the round schedule, the data streams
of a phase, the round ledger in checkpoints and the checks of a loaded
checkpoint (:class:`mmda.engine.loops.SelfTrainingLoop`)."""
import copy
import os.path as osp
import time
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.runner.utils import set_random_seed
from mmengine.dataset import DefaultSampler
from torch.utils.data import DataLoader

from mmda.models.utils import unwrap

STATE_KEY = 'self_training'
STATE_VERSION = 1
_EPOCHS_PER_PHASE = 100000  # sampler epochs reserved for one phase


def round_portions(init_portion: float, portion_step: float,
                   max_portion: float,
                   max_rounds: Optional[int] = None) -> List[float]:
    """The portion ``p`` of every round: ``init + r * step <= max``.

    The authors add 0.05 per round and stop once ``p > 0.4``: 0.1 ... 0.4,
    7 rounds. Steps are rounded to 10 decimals so that an accumulated float
    error never adds or drops a round.

    Args:
        init_portion (float): ``p`` of the first round (0.1).
        portion_step (float): increment per round (0.05).
        max_portion (float): last admissible ``p`` (0.4).
        max_rounds (int, optional): cap on the number of rounds.
    """
    if init_portion <= 0 or portion_step < 0:
        raise ValueError('train_cfg: init_portion must be > 0 and '
                         f'portion_step >= 0, got {init_portion}, '
                         f'{portion_step}')
    if max_rounds is not None and max_rounds < 0:
        raise ValueError(
            f'train_cfg: max_rounds must be >= 0, got {max_rounds}')
    if portion_step == 0:
        # a constant portion needs an explicit number of rounds
        if max_rounds is None:
            raise ValueError('train_cfg: portion_step=0 needs max_rounds')
        return [float(init_portion)] * max_rounds
    out = []
    r = 0
    while max_rounds is None or len(out) < max_rounds:
        # round away accumulated float error (e.g. 0.15000000000000002)
        p = round(init_portion + r * portion_step, 10)
        if p > max_portion + 1e-9:
            break
        out.append(p)
        r += 1
    return out


class PhaseIterator:
    """Endless iteration over a dataloader with deterministic sampler epochs.

    Pass ``n`` of phase ``k`` sets the sampler epoch to
    ``k * 100000 + n``, so the order only depends on the seed, the phase and
    the position - which a resumed run can replay.
    """

    def __init__(self, dataloader: DataLoader, phase: int) -> None:
        self.dataloader = dataloader
        self.epoch = phase * _EPOCHS_PER_PHASE
        self._iterator = None

    def _start(self) -> None:
        sampler = getattr(self.dataloader, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(self.epoch)
        self._iterator = iter(self.dataloader)

    def __next__(self):
        if self._iterator is None:
            self._start()
        try:
            return next(self._iterator)
        except StopIteration:
            self.epoch += 1
            self._start()
            return next(self._iterator)


class SelfTrainingStateHook(Hook):
    """Carries the loop's round ledger in and out of checkpoints.

    Registered by :class:`SelfTrainingLoop` itself; not meant for configs.
    """
    priority = 'VERY_LOW'

    def __init__(self, loop: 'SelfTrainingLoop') -> None:
        self.loop = loop

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[STATE_KEY] = self.loop.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Applied in ``run`` only if the runner really resumed (iter > 0):
        # ``load_from`` without ``resume`` starts a fresh schedule.
        self.loop._pending_state = checkpoint.get('meta', {}).get(STATE_KEY)
        if self.loop.check_load_from:
            check_checkpoint_fits(runner.model, checkpoint,
                                  getattr(runner, '_load_from', None))


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: dict,
                          name: Optional[str] = None) -> None:
    """Raise a ``ValueError`` naming the mismatch when ``checkpoint`` does not
    hold every tensor of ``model`` with its shape.

    mmengine loads ``load_from`` non-strictly: a checkpoint of another
    architecture loads nothing, logs two key lists and training goes on from
    the initial weights. Self-training must start from the source-trained
    model, so a partial load is an error here (``train_cfg.check_load_from``
    switches it off).
    """
    model = unwrap(model)
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint {name!r}: no state_dict to load')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    migrate = getattr(model, 'migrate_state_dict', None)
    if migrate is not None:  # e.g. SIE's student under a plain checkpoint
        state = migrate(state)
    # the step counters are not weights (a migrated plain checkpoint gets
    # them at 0): only the network's tensors count
    counters = set(getattr(model, '_counters', ()))
    own = {k: v for k, v in model.state_dict().items() if k not in counters}
    state = {k: v for k, v in state.items() if k not in counters}
    missing = [k for k in own if k not in state]
    bad = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in own.items()
           if k in state and hasattr(state[k], 'shape')
           and tuple(state[k].shape) != tuple(v.shape)]
    if not missing and not bad:
        return
    unexpected = [k for k in state if k not in own]
    parts = [f'Checkpoint {name!r} does not fit the model '
             f'{type(model).__name__} it should initialise: '
             f'{len(own) - len(missing) - len(bad)} of {len(own)} tensors '
             'would load']
    if missing:
        parts.append(f'{len(missing)} missing, e.g. {missing[:4]}')
    if bad:
        parts.append(f'{len(bad)} with another shape (key, checkpoint, '
                     f'model), e.g. {bad[:3]}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected, e.g. {unexpected[:4]}')
    raise ValueError(
        '; '.join(parts) + '. Self-training starts from a source-only model '
        'of the same architecture (for the FCN8s-VGG16 configs: '
        'configs/sie/*_fcn8s_vgg16_source_only.py). Set load_from to its '
        'checkpoint, or train_cfg.check_load_from=False to load partially.')




def check_state(state: dict, source_only_iters: int,
                portions: List[float]) -> List[dict]:
    """The rounds of a checkpoint's ``meta['self_training']``, checked
    against the config's schedule (a ``ValueError`` names a mismatch)."""
    where = f'checkpoint meta[{STATE_KEY!r}]'
    if state.get('version') != STATE_VERSION:
        raise ValueError(f'{where}: unsupported version '
                         f'{state.get("version")!r}, expected '
                         f'{STATE_VERSION}')
    if state['source_only_iters'] != source_only_iters:
        raise ValueError(
            f'{where}: the checkpoint was trained with '
            f'source_only_iters={state["source_only_iters"]}, the config '
            f'says {source_only_iters}')
    for r, info in enumerate(state['rounds']):
        if r >= len(portions) or \
                abs(info['portion'] - portions[r]) > 1e-9:
            raise ValueError(
                f'{where}: round {r} used portion {info["portion"]}, the '
                f'config schedule is {portions}')
    return copy.deepcopy(state['rounds'])


def check_resume(it: int, state: Optional[dict], rounds: List[dict],
                 source_only_iters: int, max_iters: int,
                 work_dir: str) -> None:
    """Raise if a run resumed at iteration ``it`` cannot continue: no
    ledger past the warm-up, an iteration beyond the recorded rounds, or the
    missing examples of the round it was cut in."""
    if state is None:
        if it <= source_only_iters:
            return
        raise ValueError(
            f'Resumed at iteration {it}, but the checkpoint has '
            f'no self-training state (meta[{STATE_KEY!r}]); it was not '
            'written by SelfTrainingLoop. Use load_from without resume '
            'to start self-training from its weights.')
    if it > max_iters:
        raise ValueError(
            f'Resumed at iteration {it}, beyond the rounds '
            f'recorded in the checkpoint (end {max_iters})')
    for info in rounds:
        end = info['start_iter'] + info['num_iters']
        if info['start_iter'] <= it < end:
            root = osp.join(work_dir, info['dir'])
            listing = osp.join(root, 'examples.txt')
            if not osp.isfile(listing):
                raise FileNotFoundError(
                    f'Resuming in the middle of self-training round '
                    f'{info["round"]} needs its examples in {root!r} '
                    f'(missing {listing!r}); they cannot be regenerated '
                    'from the resumed weights. Restore that folder or '
                    'resume from the checkpoint at the round start.')


def check_loop_args(dataloader, target_dataloader, epochs_per_round: int,
                    num_patches: int, patch_size, source_only_iters: int,
                    max_iters: Optional[int]) -> None:
    """Raise a ``ValueError`` naming a wrong ``train_cfg`` argument of
    :class:`~mmda.engine.loops.SelfTrainingLoop`."""
    where = 'train_cfg (SelfTrainingLoop)'
    if max_iters is not None and (isinstance(max_iters, bool) or
                                  int(max_iters) != max_iters or
                                  int(max_iters) < 1):
        raise ValueError(f'{where}: max_iters must be a positive integer '
                         f'(a cap on the total number of iterations) or '
                         f'None, got {max_iters!r}')
    if not isinstance(target_dataloader, dict) or \
            'dataset' not in target_dataloader:
        raise ValueError(f'{where}: target_dataloader must be a dict with '
                         'a "dataset" (the unlabelled target images)')
    if int(epochs_per_round) < 1 or int(num_patches) < 1:
        raise ValueError(f'{where}: epochs_per_round and num_patches must '
                         f'be >= 1, got {epochs_per_round}, {num_patches}')
    if len(patch_size) != 2 or min(patch_size) < 1:
        raise ValueError(f'{where}: patch_size must be (h, w) > 0, got '
                         f'{patch_size}')
    if int(source_only_iters) < 0:
        raise ValueError(f'{where}: source_only_iters must be >= 0')
    sampler = getattr(dataloader, 'sampler', None)
    if not isinstance(sampler, DefaultSampler):
        raise ValueError(
            f'{where}: train_dataloader.sampler must be DefaultSampler '
            f'(got {type(sampler).__name__}); each round restarts the '
            'source stream, which an InfiniteSampler cannot do')


def check_loop_optim_wrapper(runner, lr_poly_power: Optional[float],
                             source_only_lr_mult: float) -> None:
    """The loop steps the runner's one ``OptimWrapper`` once per iteration
    and may set the learning rate itself."""
    ow = runner.optim_wrapper
    if not hasattr(ow, 'backward') or not hasattr(ow, 'param_groups'):
        raise TypeError('SelfTrainingLoop needs a single OptimWrapper '
                        f'(optim_wrapper), got {type(ow).__name__}')
    if getattr(ow, '_accumulative_counts', 1) != 1:
        raise ValueError(
            'optim_wrapper.accumulative_counts must be 1 with '
            'SelfTrainingLoop (each iteration already back-propagates a '
            'source and an example batch before one step)')
    if runner.param_schedulers and (lr_poly_power is not None
                                    or source_only_lr_mult != 1.0):
        raise ValueError(
            'train_cfg.lr_poly_power / source_only_lr_mult and '
            'param_scheduler both set the learning rate: remove one')


def reset_iter_timer(runner) -> None:
    """Restart the IterTimerHook's clock: without it the next iteration's
    ``data_time`` (and the ETA from it) would include the round generation
    or the validation (about a minute on Cityscapes)."""
    from mmengine.hooks import IterTimerHook
    now = time.time()
    for hook in runner.hooks:
        if isinstance(hook, IterTimerHook):
            hook.t = now


def reseed_phase(runner, seed: int, phase: int, dataloader) -> None:
    """Global random generators of a phase from (seed, phase); the source
    sampler keeps the run's seed (its epochs are set per phase)."""
    diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
    set_random_seed((seed + 7919 * (phase + 1)) % (2**31),
                    diff_rank_seed=diff_rank_seed)
    sampler = dataloader.sampler
    if isinstance(sampler, DefaultSampler) and not diff_rank_seed:
        sampler.seed = seed


def build_example_loader(runner, dataloader_cfg: dict, info: dict,
                         seed: int) -> DataLoader:
    """The dataloader of a round's examples (``info``: its ledger entry)."""
    cfg = copy.deepcopy(dataloader_cfg)
    ds = dict(cfg.get('dataset', {}))
    ds.setdefault('type', 'PseudoLabelDataset')
    ds['data_root'] = osp.join(runner.work_dir, info['dir'])
    cfg['dataset'] = ds
    cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=True))
    diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
    loader = runner.build_dataloader(
        cfg, seed=seed, diff_rank_seed=diff_rank_seed)
    if not isinstance(loader.sampler, DefaultSampler):
        raise ValueError(
            'train_cfg.example_dataloader.sampler must be DefaultSampler, '
            f'got {type(loader.sampler).__name__}')
    return loader
