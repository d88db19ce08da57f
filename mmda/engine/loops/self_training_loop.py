"""Round-based self-training with scale-invariant examples (SIE).

Subhani & Ali, ECCV 2020 (docs/methods.md#scale-invariant-examples; authors'
code "LSE"). Starting from a source-trained model, every round

1. predicts all target images (the model's ``test_step``, batched, tqdm bar
   on rank 0) and collects per image and class the mean max-probability and
   the mean normalised entropy of the pixels predicted as that class;
2. keeps per class the ``floor(N_c * p / 19)`` most confident images and
   sets the class threshold from the first image below the cut;
3. predicts the selected images again and writes the scale-invariant
   examples (random patches upsampled with their soft predictions, pixels
   with normalised entropy >= their class threshold set to 255) as an
   image/label dataset in ``{work_dir}/sie/round_{r}``;
4. trains ``epochs_per_round`` epochs over those examples: every iteration
   takes one source batch (cross-entropy only) and one example batch (the
   full decode-head loss, e.g. CE + 0.1 * focal) and makes one optimizer
   step, as the authors' ``train_adp``.

``p`` starts at ``init_portion`` and grows by ``portion_step`` per round
until it exceeds ``max_portion`` (0.1, 0.15, ..., 0.4: 7 rounds, as the
authors' loop; computed with exact decimal steps).

Iterations and resume
---------------------
The loop is iteration based like mmengine's ``IterBasedTrainLoop``: the
runner's ``iter`` counts optimizer steps over all phases (an optional
source-only warm-up, then the rounds). The length of a round is only known
once its examples exist, so ``max_iters`` is the end of the last generated
round; the checkpoint hook's ``save_last`` thus saves a checkpoint at the end
of every round.

The round ledger (portion, thresholds, selected images, example folder,
first iteration and length of every generated round) is stored in each
checkpoint under ``meta['self_training']`` by a hook the loop registers.
``--resume`` restores it: finished rounds are not regenerated, a round cut
in the middle continues on its existing example folder and replays the data
streams to the interrupted position. Each phase re-seeds the global random
generators from the run's seed and the phase index, the samplers get
deterministic epochs, and every training step runs under its own forked
torch RNG seeded by the iteration, so a resumed run reaches the same
weights as an uninterrupted one (exact with ``num_workers=0``, or with
workers when ``randomness.seed`` is set and ``persistent_workers=False``).
"""
import copy
import json
import math
import os
import os.path as osp
import shutil
import time
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.dist import (all_gather_object, barrier, broadcast_object_list,
                           get_dist_info, is_main_process)
from mmengine.hooks import Hook
from mmengine.runner.base_loop import BaseLoop
from mmengine.runner.utils import set_random_seed
from torch.utils.data import DataLoader, Subset

from mmda.models.utils import unwrap
from mmda.registry import DATASETS, LOOPS
from .sie_pseudo_labels import (_normalize_groups, image_class_statistics,
                                keep_mask, make_scale_invariant_examples,
                                pseudo_label_confusion, pseudo_label_metrics,
                                sample_patch_boxes, select_confident_images)

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


class _PhaseIterator:
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
    own = model.state_dict()
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


@LOOPS.register_module()
class SelfTrainingLoop(BaseLoop):
    """Self-training with scale-invariant examples, in rounds.

    Args:
        runner (Runner): the runner.
        dataloader (DataLoader or dict): the *source* training dataloader
            (the config's ``train_dataloader``); its sampler must be a
            ``DefaultSampler`` (rounds restart the source stream
            deterministically, an ``InfiniteSampler`` cannot).
        target_dataloader (dict): the unlabelled target images to
            pseudo-label: ``dataset`` (with a deterministic test pipeline:
            load, resize, pack - no random crop or flip), ``batch_size`` and
            ``num_workers``. Images are split over ranks; the sampler key is
            ignored.
        example_dataloader (dict): dataloader of the generated examples.
            Its ``dataset`` gets ``type='PseudoLabelDataset'`` and the round
            folder as ``data_root`` unless given; ``pipeline`` should load
            image and annotation and pack them. Defaults to batch 1,
            shuffled (the authors' setting).
        init_portion (float): ``p`` of the first round. Defaults to 0.1.
        portion_step (float): increment of ``p`` per round. Defaults to 0.05.
        max_portion (float): rounds continue while ``p <= max_portion``.
            Defaults to 0.4.
        max_rounds (int, optional): cap on the number of rounds.
        epochs_per_round (int): passes over the generated examples per
            round (2 in the paper).
        num_patches (int): patches per selected image (4).
        patch_size (tuple[int, int]): (h, w) of a patch, (256, 512) for
            512x1024 images.
        source_only_iters (int): source-only iterations before the first
            round (a warm start when no source-trained ``load_from`` is
            given). Defaults to 0.
        source_only_lr_mult (float): learning-rate multiplier during those
            warm-up iterations (self-training fine-tunes with a much smaller
            rate than source training, e.g. 1e-6 for VGG in the paper; the
            rounds use the optimizer's rate). Defaults to 1.0.
        source_excluded_losses (Sequence[str]): loss keys (substrings) that
            do not apply to source batches: the source is trained with
            cross-entropy only, the focal term is for the examples.
            Defaults to ``('loss_focal', )``.
        selection_ignore_classes (Sequence[int]): classes that select no
            image (the authors skip 9, 14, 16 for SYNTHIA).
        num_classes (int, optional): ``C`` of ``p / C``; defaults to the
            number of predicted channels (19).
        lr_poly_power (float, optional): if set, the learning rate of every
            param group follows ``initial_lr * (1 - j / n_r) ** power``
            within each round (j = step in the round, n_r = its length), as
            the authors' DeepLab schedule restarting every round. None keeps
            the optimizer's learning rate (their VGG setting).
        val_interval (int): validate after every ``val_interval`` rounds
            (and after the last one). Defaults to 1.
        val_after_warmup (bool): validate after the source-only warm-up.
            Defaults to True.
        examples_dir (str): folder in the work dir for the examples.
            Defaults to 'sie'.
        ignore_index (int): label of dropped pixels. Defaults to 255.
        deterministic_steps (bool): run every training step under a forked
            torch RNG seeded by the iteration (exact resume with dropout).
            Defaults to True.
        pseudo_label_quality (bool): compare the pseudo-labels of the
            selected images (full image, kept pixels) with the target
            dataset's own labels and log pixel accuracy, coverage, mIoU and
            the per-class share of the pseudo-labels (stored in the round
            ledger and ``round.json``). A diagnostic for benchmarks and
            research (e.g. Cityscapes train labels in GTA5->Cityscapes);
            the labels never reach training. Needs ``seg_map_path`` in the
            target dataset. Defaults to False.
        max_iters (int, optional): stop after this many iterations in all
            (warm-up and rounds), then validate once: the one override that
            shortens every method's schedule
            (``--cfg-options train_cfg.max_iters=2``). None trains every
            round to its end (the paper's schedule). Defaults to None.
        check_load_from (bool): when a checkpoint is loaded (``load_from``
            or resume), stop with an error naming the mismatch if one of the
            model's tensors is missing from it or has another shape (e.g. a
            DeepLab checkpoint for the FCN8s model), instead of self-training
            a model that kept its initial weights. Defaults to True.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 target_dataloader: Dict,
                 example_dataloader: Optional[Dict] = None,
                 init_portion: float = 0.1,
                 portion_step: float = 0.05,
                 max_portion: float = 0.4,
                 max_rounds: Optional[int] = None,
                 epochs_per_round: int = 2,
                 num_patches: int = 4,
                 patch_size: Sequence[int] = (256, 512),
                 source_only_iters: int = 0,
                 source_only_lr_mult: float = 1.0,
                 source_excluded_losses: Sequence[str] = ('loss_focal', ),
                 selection_ignore_classes: Sequence[int] = (),
                 num_classes: Optional[int] = None,
                 lr_poly_power: Optional[float] = None,
                 val_interval: int = 1,
                 val_after_warmup: bool = True,
                 examples_dir: str = 'sie',
                 ignore_index: int = 255,
                 deterministic_steps: bool = True,
                 pseudo_label_quality: bool = False,
                 max_iters: Optional[int] = None,
                 check_load_from: bool = True) -> None:
        super().__init__(runner, dataloader)
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
        sampler = getattr(self.dataloader, 'sampler', None)
        if not isinstance(sampler, DefaultSampler):
            raise ValueError(
                f'{where}: train_dataloader.sampler must be DefaultSampler '
                f'(got {type(sampler).__name__}); each round restarts the '
                'source stream, which an InfiniteSampler cannot do')
        self.target_dataloader_cfg = copy.deepcopy(target_dataloader)
        if example_dataloader is None:
            example_dataloader = dict(
                batch_size=1, num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations'),
                    dict(type='PackSegInputs')
                ]))
        self.example_dataloader_cfg = copy.deepcopy(example_dataloader)
        self.portions = round_portions(init_portion, portion_step, max_portion,
                                       max_rounds)
        self.epochs_per_round = int(epochs_per_round)
        self.num_patches = int(num_patches)
        self.patch_size = (int(patch_size[0]), int(patch_size[1]))
        self.source_only_iters = int(source_only_iters)
        self.source_only_lr_mult = float(source_only_lr_mult)
        self.source_excluded_losses = tuple(source_excluded_losses)
        self.selection_ignore_classes = tuple(
            int(c) for c in selection_ignore_classes)
        self.num_classes = num_classes
        self.lr_poly_power = lr_poly_power
        self.val_interval = max(1, int(val_interval))
        self.val_after_warmup = val_after_warmup
        self.examples_dir = examples_dir
        self.ignore_index = int(ignore_index)
        self.deterministic_steps = deterministic_steps
        self.pseudo_label_quality = bool(pseudo_label_quality)
        self.max_iters_cap = None if max_iters is None else int(max_iters)
        self.check_load_from = bool(check_load_from)

        self._epoch = 0
        self._iter = 0
        self._max_epochs = 1
        self.stop_training = False
        self._rounds: List[dict] = []
        self._pending_state: Optional[dict] = None
        self._target_dataset = None
        self._seed: Optional[int] = None
        if hasattr(self.dataloader.dataset, 'metainfo'):
            self.runner.visualizer.dataset_meta = \
                self.dataloader.dataset.metainfo
        runner.register_hook(SelfTrainingStateHook(self), priority='VERY_LOW')

    # ------------------------------------------------------------------
    # mmengine loop interface
    # ------------------------------------------------------------------
    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        """End of the last *generated* round (grows round by round), or
        ``train_cfg.max_iters`` when that cap comes first."""
        end = self.source_only_iters + sum(
            r['num_iters'] for r in self._rounds)
        if self.max_iters_cap is not None:
            end = min(end, self.max_iters_cap) if self._rounds or \
                self.source_only_iters else self.max_iters_cap
        return end

    def _capped(self) -> bool:
        return self.max_iters_cap is not None and \
            self._iter >= self.max_iters_cap

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def rounds(self) -> List[dict]:
        """The ledger of the generated rounds (read-only use)."""
        return self._rounds

    def state_dict(self) -> dict:
        return dict(version=STATE_VERSION,
                    source_only_iters=self.source_only_iters,
                    portions=list(self.portions),
                    rounds=copy.deepcopy(self._rounds))

    def load_state_dict(self, state: dict) -> None:
        where = f'checkpoint meta[{STATE_KEY!r}]'
        if state.get('version') != STATE_VERSION:
            raise ValueError(f'{where}: unsupported version '
                             f'{state.get("version")!r}, expected '
                             f'{STATE_VERSION}')
        if state['source_only_iters'] != self.source_only_iters:
            raise ValueError(
                f'{where}: the checkpoint was trained with '
                f'source_only_iters={state["source_only_iters"]}, the config '
                f'says {self.source_only_iters}')
        for r, info in enumerate(state['rounds']):
            if r >= len(self.portions) or \
                    abs(info['portion'] - self.portions[r]) > 1e-9:
                raise ValueError(
                    f'{where}: round {r} used portion {info["portion"]}, the '
                    f'config schedule is {self.portions}')
        self._rounds = copy.deepcopy(state['rounds'])

    def run(self) -> torch.nn.Module:
        """Warm-up (optional), then generate-and-train rounds."""
        runner = self.runner
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        self._check_optim_wrapper()
        seed = [int(runner.seed)]
        broadcast_object_list(seed)  # in place; rank 0's seed everywhere
        self._seed = seed[0]
        self._restore_pending_state()
        for group in runner.optim_wrapper.param_groups:
            group.setdefault('initial_lr', group['lr'])
        if self._iter == 0 and self.source_only_iters == 0 and \
                not getattr(runner, '_load_from', None):
            runner.logger.warning(
                'SelfTrainingLoop: neither load_from nor '
                'train_cfg.source_only_iters is set - the first round '
                'pseudo-labels the target with a model that never saw the '
                'labelled source')

        validated_at = None
        if self.max_iters_cap is not None:
            runner.logger.info(
                f'SelfTrainingLoop: train_cfg.max_iters={self.max_iters_cap} '
                'caps the run (warm-up and rounds); it stops there and '
                'validates once')
        if self._iter < self.source_only_iters and not self._capped():
            runner.logger.info(
                f'Self-training: source-only warm-up, iterations '
                f'{self._iter}-{self.source_only_iters}')
            self._train_phase(0, 0, self.source_only_iters, None)
            if self.val_after_warmup or self._capped():
                self._validate()
                validated_at = self._iter

        for r in range(len(self.portions)):
            if self.stop_training or self._capped():
                break
            if r < len(self._rounds):
                info = self._rounds[r]
                end = info['start_iter'] + info['num_iters']
                if self._iter >= end:
                    continue  # finished before the resume
                runner.logger.info(
                    f'Self-training round {r}: reusing the examples in '
                    f'{info["dir"]} (resumed at iteration {self._iter})')
            else:
                info = self._generate_round(r)
                self._rounds.append(info)
                # the generation is not the next iteration's data time
                self._reset_iter_timer()
            if info['num_iters'] == 0:
                runner.logger.warning(
                    f'Self-training round {r}: no example was generated, '
                    'nothing to train')
                continue
            loader = self._build_example_loader(info)
            self._train_phase(r + 1, info['start_iter'], info['num_iters'],
                              loader)
            if (r + 1) % self.val_interval == 0 or \
                    r == len(self.portions) - 1 or self._capped():
                self._validate()
                validated_at = self._iter
        if self._capped() and validated_at != self._iter:
            self._validate()  # the run's last validation

        runner.call_hook('after_train_epoch')
        runner.call_hook('after_train')
        return runner.model

    # ------------------------------------------------------------------
    # resume
    # ------------------------------------------------------------------
    def _restore_pending_state(self) -> None:
        state, self._pending_state = self._pending_state, None
        if self._iter == 0:
            return  # fresh start (possibly from a load_from checkpoint)
        if state is None:
            if self._iter <= self.source_only_iters:
                return
            raise ValueError(
                f'Resumed at iteration {self._iter}, but the checkpoint has '
                f'no self-training state (meta[{STATE_KEY!r}]); it was not '
                'written by SelfTrainingLoop. Use load_from without resume '
                'to start self-training from its weights.')
        self.load_state_dict(state)
        if self._iter > self.max_iters:
            raise ValueError(
                f'Resumed at iteration {self._iter}, beyond the rounds '
                f'recorded in the checkpoint (end {self.max_iters})')
        for info in self._rounds:
            end = info['start_iter'] + info['num_iters']
            if info['start_iter'] <= self._iter < end:
                root = osp.join(self.runner.work_dir, info['dir'])
                listing = osp.join(root, 'examples.txt')
                if not osp.isfile(listing):
                    raise FileNotFoundError(
                        f'Resuming in the middle of self-training round '
                        f'{info["round"]} needs its examples in {root!r} '
                        f'(missing {listing!r}); they cannot be regenerated '
                        'from the resumed weights. Restore that folder or '
                        'resume from the checkpoint at the round start.')

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    def _check_optim_wrapper(self) -> None:
        ow = self.runner.optim_wrapper
        if not hasattr(ow, 'backward') or not hasattr(ow, 'param_groups'):
            raise TypeError('SelfTrainingLoop needs a single OptimWrapper '
                            f'(optim_wrapper), got {type(ow).__name__}')
        if getattr(ow, '_accumulative_counts', 1) != 1:
            raise ValueError(
                'optim_wrapper.accumulative_counts must be 1 with '
                'SelfTrainingLoop (each iteration already back-propagates a '
                'source and an example batch before one step)')
        if self.runner.param_schedulers and (
                self.lr_poly_power is not None
                or self.source_only_lr_mult != 1.0):
            raise ValueError(
                'train_cfg.lr_poly_power / source_only_lr_mult and '
                'param_scheduler both set the learning rate: remove one')

    def _reseed(self, phase: int) -> None:
        diff_rank_seed = self.runner._randomness_cfg.get('diff_rank_seed',
                                                         False)
        set_random_seed((self._seed + 7919 * (phase + 1)) % (2**31),
                        diff_rank_seed=diff_rank_seed)
        for loader in (self.dataloader, ):
            sampler = loader.sampler
            if isinstance(sampler, DefaultSampler) and not diff_rank_seed:
                sampler.seed = self._seed

    def _train_phase(self, phase: int, start: int, num_iters: int,
                     example_loader: Optional[DataLoader]) -> None:
        """Train iterations ``[self._iter, start + num_iters)`` of a phase."""
        self._reseed(phase)
        # the lr is a function of the phase (and of the step with
        # lr_poly_power): exact after a resume
        mult = self.source_only_lr_mult if example_loader is None else 1.0
        if not self.runner.param_schedulers and (
                self.lr_poly_power is None or example_loader is None):
            for group in self.runner.optim_wrapper.param_groups:
                group['lr'] = group['initial_lr'] * mult
        src_it = _PhaseIterator(self.dataloader, phase)
        ex_it = None
        if example_loader is not None:
            sampler = example_loader.sampler
            if isinstance(sampler, DefaultSampler):
                sampler.seed = self._seed + 1
            ex_it = _PhaseIterator(example_loader, phase)
        done = self._iter - start
        if done > 0:
            self.runner.logger.info(
                f'Advance the data streams {done} steps to skip data that has '
                'already been trained')
            for _ in range(done):
                next(src_it)
                if ex_it is not None:
                    next(ex_it)
        end = start + num_iters
        if self.max_iters_cap is not None:
            end = min(end, self.max_iters_cap)
        while self._iter < end and not self.stop_training:
            self.runner.model.train()
            src_batch = next(src_it)
            ex_batch = next(ex_it) if ex_it is not None else None
            if self.lr_poly_power is not None and ex_it is not None:
                self._set_round_lr(self._iter - start, num_iters)
            self._run_iter(src_batch, ex_batch)

    def _set_round_lr(self, step: int, total: int) -> None:
        factor = (1.0 - step / total)**self.lr_poly_power
        for group in self.runner.optim_wrapper.param_groups:
            group['lr'] = group['initial_lr'] * factor

    def _run_iter(self, src_batch: dict, ex_batch: Optional[dict]) -> None:
        self.runner.call_hook(
            'before_train_iter', batch_idx=self._iter, data_batch=src_batch)
        if self.deterministic_steps:
            devices = [torch.cuda.current_device()] \
                if torch.cuda.is_available() else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(
                    (self._seed * 1000003 + 104729 * (self._iter + 1)) %
                    (2**62))
                outputs = self._train_step(src_batch, ex_batch)
        else:
            outputs = self._train_step(src_batch, ex_batch)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=self._iter,
            data_batch=src_batch,
            outputs=outputs)
        self._iter += 1

    def _forward_losses(self, batch: dict) -> Dict[str, torch.Tensor]:
        model = self.runner.model
        ori = unwrap(model)
        with self.runner.optim_wrapper.optim_context(model):
            data = ori.data_preprocessor(batch, True)
            if isinstance(data, dict):
                return model(**data, mode='loss')
            return model(*data, mode='loss')

    def _train_step(self, src_batch: dict,
                    ex_batch: Optional[dict]) -> Dict[str, torch.Tensor]:
        """Source CE (+ example loss) back-propagated, then one step."""
        model = self.runner.model
        ori = unwrap(model)
        ow = self.runner.optim_wrapper
        sync_later = ex_batch is not None and hasattr(model, 'no_sync')
        log_vars: Dict[str, torch.Tensor] = {}
        with model.no_sync() if sync_later else nullcontext():
            losses = self._forward_losses(src_batch)
            losses = {
                k: v
                for k, v in losses.items()
                if not any(ex in k for ex in self.source_excluded_losses)
            }
            src_loss, src_vars = ori.parse_losses(losses)
            ow.backward(src_loss)
        total = src_loss.detach()
        log_vars.update({f'src.{k}': v.detach() for k, v in src_vars.items()
                         if k != 'loss'})
        if ex_batch is not None:
            ex_loss, ex_vars = ori.parse_losses(self._forward_losses(ex_batch))
            ow.backward(ex_loss)
            total = total + ex_loss.detach()
            log_vars.update({f'sie.{k}': v.detach()
                             for k, v in ex_vars.items() if k != 'loss'})
        ow.step()
        ow.zero_grad()
        return dict(loss=total, **log_vars)

    def _validate(self) -> None:
        if self.runner.val_loop is not None:
            self.runner.val_loop.run()
            self._reset_iter_timer()

    def _reset_iter_timer(self) -> None:
        """Restart the IterTimerHook's clock: without it the next
        iteration's ``data_time`` (and the ETA from it) would include the
        round generation (about a minute on Cityscapes)."""
        from mmengine.hooks import IterTimerHook
        now = time.time()
        for hook in self.runner.hooks:
            if isinstance(hook, IterTimerHook):
                hook.t = now

    # ------------------------------------------------------------------
    # round generation
    # ------------------------------------------------------------------
    @property
    def target_dataset(self):
        if self._target_dataset is None:
            cfg = copy.deepcopy(self.target_dataloader_cfg['dataset'])
            self._target_dataset = DATASETS.build(cfg) \
                if isinstance(cfg, dict) else cfg
            if len(self._target_dataset) == 0:
                raise ValueError(
                    'train_cfg.target_dataloader.dataset is empty')
        return self._target_dataset

    def _predict_loader(self, indices: List[int]) -> DataLoader:
        cfg = self.target_dataloader_cfg
        return DataLoader(
            Subset(self.target_dataset, indices),
            batch_size=int(cfg.get('batch_size', 1)),
            num_workers=int(cfg.get('num_workers', 0)),
            shuffle=False,
            collate_fn=pseudo_collate)

    @torch.no_grad()
    def _predict(self, batch: dict) -> Tuple[List[torch.Tensor],
                                             List[torch.Tensor]]:
        """Softmax of the model on a packed batch, at the packed image size.

        ``ori_shape`` is set to the packed ``img_shape`` so that mmseg's
        post-processing (padding removal, resize) returns logits aligned with
        the packed image, from which the patches are cut.
        """
        for sample in batch['data_samples']:
            sample.set_metainfo(dict(ori_shape=tuple(sample.img_shape)))
        outputs = self.runner.model.test_step(batch)
        probs, images = [], []
        for img, out in zip(batch['inputs'], outputs):
            logits = out.seg_logits.data.float()
            if logits.shape[-2:] != img.shape[-2:]:
                raise RuntimeError(
                    f'prediction of {out.img_path} is {tuple(logits.shape)}, '
                    f'image is {tuple(img.shape)}')
            probs.append(logits.softmax(dim=0))
            images.append(img)
        return probs, images

    def _progress(self, total: int, desc: str):
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, disable=not is_main_process(),
                    dynamic_ncols=True)

    def _generate_round(self, r: int) -> dict:
        runner = self.runner
        t0 = time.time()
        portion = self.portions[r]
        rank, world = get_dist_info()
        model = runner.model
        model.eval()
        dataset = self.target_dataset
        n = len(dataset)

        # 1. statistics of every target image (this rank's shard)
        mine = list(range(rank, n, world))
        stats = {}
        bar = self._progress(n, f'SIE round {r}: predict target')
        pos = 0
        for batch in self._predict_loader(mine):
            probs, _ = self._predict(batch)
            for prob in probs:
                st = image_class_statistics(prob[None])
                stats[mine[pos]] = (st['score'][0].cpu(),
                                    st['mean_norm_entropy'][0].cpu())
                pos += 1
            bar.update(len(probs) * world)
        bar.close()
        merged = {}
        for part in all_gather_object(stats):
            merged.update(part)
        if sorted(merged) != list(range(n)):
            raise RuntimeError(f'SIE round {r}: predicted {len(merged)} of '
                               f'{n} target images')
        score = torch.stack([merged[i][0] for i in range(n)])
        mean_ne = torch.stack([merged[i][1] for i in range(n)])

        # 2. selection and class thresholds
        sel = select_confident_images(
            score, mean_ne, portion,
            ignore_classes=self.selection_ignore_classes,
            num_classes=self.num_classes)
        selected = list(sel['selected'])  # dataset indices
        thresholds = torch.tensor(sel['thresholds'])
        self._warn_empty_classes(r, portion, n, sel)

        # 3. examples of the selected images
        rel_dir = osp.join(self.examples_dir, f'round_{r}')
        root = osp.join(runner.work_dir, rel_dir)
        if is_main_process():
            if osp.isdir(root):  # left by an interrupted generation
                shutil.rmtree(root)
            os.makedirs(osp.join(root, 'images'))
            os.makedirs(osp.join(root, 'labels'))
        barrier()
        # the k-th selected image goes to rank k % world
        sub = list(range(rank, len(selected), world))
        bar = self._progress(len(selected), f'SIE round {r}: write examples')
        pos = 0
        confusion = None
        if sub:
            for batch in self._predict_loader([selected[k] for k in sub]):
                probs, images = self._predict(batch)
                for prob, img in zip(probs, images):
                    norm, pred, max_prob, _, _ = _normalize_groups(
                        prob[None])
                    keep = keep_mask(norm[0], pred[0],
                                     thresholds.to(prob.device))
                    self._write_examples(root, r, sub[pos], img, prob, keep,
                                         top=(pred[0], max_prob[0]))
                    if self.pseudo_label_quality:
                        cm = pseudo_label_confusion(
                            pred[0], keep,
                            self._target_label(selected[sub[pos]],
                                               pred.shape[-2:]),
                            prob.shape[0], self.ignore_index)
                        confusion = cm if confusion is None \
                            else confusion + cm
                    pos += 1
                bar.update(len(probs) * world)
        bar.close()
        quality = None
        if self.pseudo_label_quality:
            parts = [c for c in all_gather_object(confusion) if c is not None]
            if parts:
                quality = pseudo_label_metrics(sum(parts[1:], parts[0]))
        barrier()
        names = [f'{k:06d}_{j}' for k in range(len(selected))
                 for j in range(self.num_patches)]
        info = dict(
            round=r,
            portion=portion,
            dir=rel_dir,
            start_iter=self._iter,
            num_selected=len(selected),
            num_examples=len(names),
            thresholds=[float(t) for t in sel['thresholds']],
            selected=[int(s) for s in selected],
            selected_per_class=[len(c) for c in sel['per_class']],
            num_candidates=[int(c) for c in sel['num_candidates']],
            num_iters=0)
        if quality is not None:
            info['pseudo_label_quality'] = quality
        if is_main_process():
            with open(osp.join(root, 'examples.txt'), 'w') as f:
                f.write(''.join(name + '\n' for name in names))
        barrier()
        if names:
            loader = self._build_example_loader(info)
            info['num_iters'] = self.epochs_per_round * len(loader)
        if is_main_process():
            meta = dict(info)
            meta.update(
                patch_size=list(self.patch_size),
                num_patches=self.num_patches,
                epochs_per_round=self.epochs_per_round,
                selected_img_paths=[
                    dataset.get_data_info(s).get('img_path')
                    for s in selected
                ])
            with open(osp.join(root, 'round.json'), 'w') as f:
                json.dump(meta, f, indent=1)
        finite = [t for t in info['thresholds'] if math.isfinite(t)]
        runner.logger.info(
            f'Self-training round {r}: p={portion}, {len(selected)} of {n} '
            f'target images selected, {len(names)} examples in {root}, '
            f'{info["num_iters"]} iterations; class thresholds '
            f'{[round(t, 3) for t in info["thresholds"]]} '
            f'(mean {sum(finite) / max(len(finite), 1):.3f}); '
            f'{time.time() - t0:.1f} s')
        if quality is not None:
            def fmt(v):
                return 'n/a' if v is None else f'{v:.2f}'
            shares = ', '.join(
                f'{c}: {a:.1f}/{b:.1f}'
                for c, (a, b) in enumerate(
                    zip(quality['pred_share'], quality['gt_share']))
                if a is not None and (a > 0 or b > 0))
            runner.logger.info(
                f'Self-training round {r} pseudo-labels vs target labels: '
                f'accuracy {fmt(quality["acc"])}%, coverage '
                f'{fmt(quality["coverage"])}% of labelled pixels, mIoU '
                f'{fmt(quality["miou"])}; share per class (pseudo / true) '
                f'{shares or "n/a"}')
        return info

    def _warn_empty_classes(self, r: int, portion: float, n: int,
                            sel: dict) -> None:
        """Say which classes select no image although they are predicted:
        ``floor(N_c * p / C)`` is 0 when ``N_c < C / p`` (190 images at
        p = 0.1 with 19 classes), e.g. on a small target set."""
        C = self.num_classes or len(sel['num_candidates'])
        zero = [(c, int(nc)) for c, (nc, chosen) in enumerate(
            zip(sel['num_candidates'], sel['per_class']))
            if nc > 0 and not chosen and c not in self.selection_ignore_classes]
        if not zero:
            return
        need = math.ceil(C / portion - 1e-9)
        msg = (f'Self-training round {r}: floor(N_c * p / {C}) = 0 at '
               f'p={portion} for classes {[c for c, _ in zero]} (N_c = '
               f'{[nc for _, nc in zero]} of {n} target images predict '
               f'them; a class needs N_c >= {need} to select an image)')
        if not sel['selected']:
            msg += ('; no class selects an image, so this round makes no '
                    'example and trains nothing. Use a larger target set '
                    '(train_cfg.target_dataloader.dataset) or a larger '
                    'train_cfg.init_portion')
        self.runner.logger.warning(msg)

    def _target_label(self, index: int, size) -> torch.Tensor:
        """The target dataset's label of image ``index`` at ``size``."""
        from mmseg.datasets.transforms import LoadAnnotations
        info = copy.deepcopy(self.target_dataset.get_data_info(index))
        path = info.get('seg_map_path')
        if not path:
            raise ValueError(
                'train_cfg.pseudo_label_quality=True needs target labels, '
                f'but image {info.get("img_path")!r} of the target dataset '
                'has no seg_map_path; set train_cfg.target_dataloader.'
                'dataset.data_prefix.seg_map_path (e.g. gtFine/train)')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'train_cfg.pseudo_label_quality: label file {path!r} of '
                f'target image {info.get("img_path")!r} does not exist')
        info.setdefault('seg_fields', [])
        gt = LoadAnnotations()(info)['gt_seg_map']
        gt = torch.from_numpy(gt.astype('int64'))
        if tuple(gt.shape) != tuple(size):  # target pipeline resized
            gt = torch.nn.functional.interpolate(
                gt[None, None].float(), size=tuple(size),
                mode='nearest')[0, 0].long()
        return gt

    def _write_examples(self, root: str, r: int, k: int, img: torch.Tensor,
                        prob: torch.Tensor, keep: torch.Tensor,
                        top=None) -> None:
        import mmcv
        gen = torch.Generator().manual_seed(
            (self._seed * 1000003 + 7919 * r + k) % (2**62))
        H, W = img.shape[-2:]
        boxes = sample_patch_boxes(H, W, self.patch_size[0],
                                   self.patch_size[1], self.num_patches,
                                   generator=gen)
        images, labels = make_scale_invariant_examples(
            img, prob, keep, boxes, self.patch_size,
            ignore_index=self.ignore_index, top=top)
        images = images.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        labels = labels.cpu().numpy()
        for j in range(self.num_patches):
            name = f'{k:06d}_{j}.png'
            mmcv.imwrite(images[j], osp.join(root, 'images', name),
                         auto_mkdir=False)
            mmcv.imwrite(labels[j], osp.join(root, 'labels', name),
                         auto_mkdir=False)

    def _build_example_loader(self, info: dict) -> DataLoader:
        cfg = copy.deepcopy(self.example_dataloader_cfg)
        ds = dict(cfg.get('dataset', {}))
        ds.setdefault('type', 'PseudoLabelDataset')
        ds['data_root'] = osp.join(self.runner.work_dir, info['dir'])
        cfg['dataset'] = ds
        cfg.setdefault('sampler', dict(type='DefaultSampler', shuffle=True))
        diff_rank_seed = self.runner._randomness_cfg.get('diff_rank_seed',
                                                         False)
        loader = self.runner.build_dataloader(
            cfg, seed=self._seed, diff_rank_seed=diff_rank_seed)
        if not isinstance(loader.sampler, DefaultSampler):
            raise ValueError(
                'train_cfg.example_dataloader.sampler must be DefaultSampler, '
                f'got {type(loader.sampler).__name__}')
        return loader
