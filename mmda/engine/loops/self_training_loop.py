"""Round-based self-training with scale-invariant examples (SIE).

Subhani & Ali, ECCV 2020 (docs/methods.md#scale-invariant-examples; authors'
code "LSE"). Starting from a source-trained model, every round pseudo-labels
the target images, selects per class the ``floor(N_c * p / 19)`` most
confident ones with a class threshold, writes their scale-invariant examples
to ``{work_dir}/sie/round_{r}`` and trains ``epochs_per_round`` epochs over
them: every iteration takes one source batch (cross-entropy only) and one
example batch (e.g. CE + 0.1 * focal) and makes one optimizer step (the
authors' ``train_adp``). ``p`` starts at ``init_portion`` and grows by
``portion_step`` while ``p <= max_portion`` (0.1, 0.15, ..., 0.4: 7 rounds).

The loop only schedules: the round generation (prediction, gathering over
ranks, selection, writing, logging) is :class:`~.sie_rounds.RoundGenerator`,
the training step is :class:`mmda.models.segmentors.sie.SIE` (``train_step``
of the one step pattern, docs/step_pattern.md), the ledger and resume checks
are in :mod:`.sie_state`.

Iterations and resume: the runner's ``iter`` counts optimizer steps over all
phases (an optional source-only warm-up, then the rounds); ``max_iters`` is
the end of the last generated round, so ``save_last`` checkpoints every round
end. The round ledger is stored in each checkpoint under
``meta['self_training']``; ``--resume`` continues a round cut in the middle on
its existing examples and replays the data streams. Each phase re-seeds the
global random generators from the run's seed and the phase index, the
samplers get deterministic epochs and every step runs under its own forked
torch RNG seeded by the iteration, so a resumed run reaches the same weights
as an uninterrupted one (exact with ``num_workers=0``, or with workers when
``randomness.seed`` is set and ``persistent_workers=False``).
"""
import copy
import time
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dataset import DefaultSampler
from mmengine.dist import broadcast_object_list
from mmengine.runner.base_loop import BaseLoop
from torch.utils.data import DataLoader

from mmda.models.utils import unwrap
from mmda.registry import LOOPS, MODELS
from .sie_rounds import DEFAULT_EXAMPLE_DATALOADER, RoundGenerator
from .sie_state import (STATE_VERSION, PhaseIterator, SelfTrainingStateHook,
                        build_example_loader, check_loop_args,
                        check_loop_optim_wrapper, check_resume, check_state,
                        reseed_phase, reset_iter_timer, round_portions)


@LOOPS.register_module()
class SelfTrainingLoop(BaseLoop):
    """Self-training with scale-invariant examples, in rounds.

    The runner's model is an :class:`~mmda.models.segmentors.sie.SIE`
    (``model = dict(type='SIE', segmentor=...)``, with
    ``source_excluded_losses`` and ``deterministic_steps``); its
    ``train_step`` trains every iteration.

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
        pseudo_label_quality (bool): log the pixel accuracy, coverage, mIoU
            and class shares of the pseudo-labels of the selected images
            against the target dataset's labels (``seg_map_path`` needed;
            stored in the ledger and ``round.json``; a diagnostic, the
            labels never reach training). Defaults to False.
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
                 selection_ignore_classes: Sequence[int] = (),
                 num_classes: Optional[int] = None,
                 lr_poly_power: Optional[float] = None,
                 val_interval: int = 1,
                 val_after_warmup: bool = True,
                 examples_dir: str = 'sie',
                 ignore_index: int = 255,
                 pseudo_label_quality: bool = False,
                 max_iters: Optional[int] = None,
                 check_load_from: bool = True) -> None:
        super().__init__(runner, dataloader)
        check_loop_args(self.dataloader, target_dataloader,
                        epochs_per_round, num_patches, patch_size,
                        source_only_iters, max_iters)
        self.example_dataloader_cfg = copy.deepcopy(
            example_dataloader or DEFAULT_EXAMPLE_DATALOADER)
        self.portions = round_portions(init_portion, portion_step, max_portion,
                                       max_rounds)
        self.epochs_per_round = int(epochs_per_round)
        self.source_only_iters = int(source_only_iters)
        self.source_only_lr_mult = float(source_only_lr_mult)
        self.lr_poly_power = lr_poly_power
        self.val_interval = max(1, int(val_interval))
        self.val_after_warmup = val_after_warmup
        self.max_iters_cap = None if max_iters is None else int(max_iters)
        self.check_load_from = bool(check_load_from)
        #: prediction, selection and writing of the rounds
        self.generator = RoundGenerator(
            runner, copy.deepcopy(target_dataloader), int(num_patches),
            (int(patch_size[0]), int(patch_size[1])), examples_dir,
            tuple(int(c) for c in selection_ignore_classes), num_classes,
            int(ignore_index), bool(pseudo_label_quality))

        self._epoch = 0
        self._iter = 0
        self._max_epochs = 1
        self.stop_training = False
        self._rounds: List[dict] = []
        self._pending_state: Optional[dict] = None
        self._seed: Optional[int] = None
        if hasattr(self.dataloader.dataset, 'metainfo'):
            self.runner.visualizer.dataset_meta = \
                self.dataloader.dataset.metainfo
        runner.register_hook(SelfTrainingStateHook(self), priority='VERY_LOW')

    # ------------------------------------- mmengine loop interface
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
        self._rounds = check_state(state, self.source_only_iters,
                                   self.portions)

    def run(self) -> torch.nn.Module:
        """Warm-up (optional), then generate-and-train rounds."""
        runner = self.runner
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        check_loop_optim_wrapper(runner, self.lr_poly_power,
                                 self.source_only_lr_mult)
        seed = [int(runner.seed)]
        broadcast_object_list(seed)  # in place; rank 0's seed everywhere
        self._seed = seed[0]
        self._sie_model()  # the model's type, checked before any work
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
                reset_iter_timer(self.runner)
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

    # ------------------------------------------------------ resume
    def _restore_pending_state(self) -> None:
        state, self._pending_state = self._pending_state, None
        if self._iter == 0:
            return  # fresh start (possibly from a load_from checkpoint)
        if state is not None:
            self.load_state_dict(state)
        check_resume(self._iter, state, self._rounds, self.source_only_iters,
                     self.max_iters, self.runner.work_dir)

    # ---------------------------------------------------- training
    def _train_phase(self, phase: int, start: int, num_iters: int,
                     example_loader: Optional[DataLoader]) -> None:
        """Train iterations ``[self._iter, start + num_iters)`` of a phase."""
        reseed_phase(self.runner, self._seed, phase, self.dataloader)
        # the lr is a function of the phase (and of the step with
        # lr_poly_power): exact after a resume
        mult = self.source_only_lr_mult if example_loader is None else 1.0
        if not self.runner.param_schedulers and (
                self.lr_poly_power is None or example_loader is None):
            for group in self.runner.optim_wrapper.param_groups:
                group['lr'] = group['initial_lr'] * mult
        src_it = PhaseIterator(self.dataloader, phase)
        ex_it = None
        if example_loader is not None:
            sampler = example_loader.sampler
            if isinstance(sampler, DefaultSampler):
                sampler.seed = self._seed + 1
            ex_it = PhaseIterator(example_loader, phase)
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

    def _sie_model(self) -> torch.nn.Module:
        """The runner's model, an :class:`~mmda.models.segmentors.sie.SIE`
        (unwrapped); its per-step RNG gets the run's seed unless its
        ``train_cfg`` sets one."""
        model = unwrap(self.runner.model)
        if not isinstance(model, MODELS.get('SIE')):
            raise TypeError(
                'SelfTrainingLoop trains an SIE model: declare model = '
                "dict(type='SIE', segmentor=<the segmentor config>) (got "
                f'{type(model).__name__})')
        model.train_cfg.setdefault('seed', self._seed)
        return model

    def _run_iter(self, src_batch: dict, ex_batch: Optional[dict]) -> None:
        self.runner.call_hook(
            'before_train_iter', batch_idx=self._iter, data_batch=src_batch)
        self._sie_model().uda_iter.fill_(self._iter)  # the step's RNG seed
        outputs = self.runner.model.train_step(
            dict(source=src_batch, examples=ex_batch),
            self.runner.optim_wrapper)
        self.runner.call_hook(
            'after_train_iter',
            batch_idx=self._iter,
            data_batch=src_batch,
            outputs=outputs)
        self._iter += 1

    def _validate(self) -> None:
        if self.runner.val_loop is not None:
            self.runner.val_loop.run()
            reset_iter_timer(self.runner)

    # -------------------------------------------- round generation
    def _generate_round(self, r: int) -> dict:
        """Pseudo-labels and examples of round ``r`` (its ledger entry)."""
        return self.generator.generate(
            r, self.portions[r], self._iter, self._seed,
            lambda info: self.epochs_per_round * len(
                self._build_example_loader(info)),
            self.epochs_per_round)

    def _build_example_loader(self, info: dict) -> DataLoader:
        return build_example_loader(self.runner, self.example_dataloader_cfg,
                                    info, self._seed)
