"""Per-class pseudo-label-vs-truth diagnostic of a self-training teacher.

Self-training (DACS, thesis ch. 3, §3.2; the pseudo-labels of eq. 2.11 and
the confidence weight of eq. 2.15) trains the student on the teacher's
pseudo-labels of the target images. When the teacher confuses two classes
on the target domain the pseudo-labels can confirm the confusion instead of
correcting it. This hook makes that visible during training: every
``interval`` iterations it runs the model's pseudo-labelling path
(``model.teacher_probs``, the same softmax the training step uses) on a
fixed set of *labelled* target training images and records, per true class,

* ``conf``: the teacher's mean confidence ``max_c p_c`` on its pixels;
* ``above``: the share of its pixels whose confidence reaches the
  pseudo-label threshold tau (the pixels eq. 2.15 counts);
* ``recall``: the share of its pixels whose pseudo-label is right, and
  ``to``: where the others go (the row of the confusion matrix);

and per pseudo-label class its ``precision`` and ``share`` of all pixels,
plus the batch weight eq. 2.15 would give to this set (``weight``: the
share of all pixels above tau). The labels are used only here, never for
training.

Records go to ``{work_dir}/{out_file}`` (one JSON object per evaluation,
with the full confusion matrix) and a one-line summary per evaluation to
the log; :func:`load_diagnostic` and :func:`diagnostic_table` read them
back (``docs/toy_variants.md`` uses them for the DACS toy).

The teacher's state is left untouched: its buffers (BatchNorm running
statistics, which a teacher in train-mode BatchNorm would update) and the
RNG states are restored after each evaluation, so a run with the hook
trains exactly like one without.
"""
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook

from mmda.models.utils import unwrap
from mmda.registry import DATASETS, HOOKS


def confusion_counts(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """(C, C) int64 counts, row = true class, column = pseudo-label."""
    valid = gt != ignore_index
    if (gt[valid] >= num_classes).any() or (gt[valid] < 0).any():
        raise ValueError(
            f'PseudoLabelDiagnosticHook: true labels outside [0, '
            f'{num_classes}) and != {ignore_index}: '
            f'{sorted(set(gt[valid].unique().tolist()))[:10]}')
    idx = gt[valid].long() * num_classes + pred[valid].long()
    return torch.bincount(idx, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def summarise_counts(cm: np.ndarray, conf_sum: np.ndarray,
                     above: np.ndarray, classes: Sequence[str],
                     top: int = 2) -> Dict[str, dict]:
    """Per-class figures (see the module docstring) from the confusion
    ``cm`` (C, C), the per-true-class sums of confidence and counts of
    pixels above tau."""
    out = {}
    gt_n, pred_n = cm.sum(1), cm.sum(0)
    total = max(cm.sum(), 1)
    for c, name in enumerate(classes):
        if gt_n[c] == 0 and pred_n[c] == 0:
            continue
        row = dict(pixels=int(gt_n[c]),
                   share=float(100.0 * pred_n[c] / total))
        if gt_n[c] > 0:
            row['conf'] = float(conf_sum[c] / gt_n[c])
            row['above'] = float(100.0 * above[c] / gt_n[c])
            row['recall'] = float(100.0 * cm[c, c] / gt_n[c])
            others = [(int(cm[c, j]), j) for j in range(len(classes))
                      if j != c and cm[c, j] > 0]
            row['to'] = {classes[j]: float(100.0 * n / gt_n[c])
                         for n, j in sorted(others, reverse=True)[:top]}
        if pred_n[c] > 0:
            row['precision'] = float(100.0 * cm[c, c] / pred_n[c])
        out[name] = row
    return out


@HOOKS.register_module()
class PseudoLabelDiagnosticHook(Hook):
    """Log the teacher's per-class confidence and pseudo-label confusion on
    labelled target images during training (a diagnostic, no training
    effect).

    Args:
        dataset (dict): the labelled target images (a dataset config whose
            pipeline loads the annotations and packs the inputs, e.g. the
            toy target train split with ``LoadImageFromFile``,
            ``LoadAnnotations``, ``PackSegInputs``). Fixed-size images.
        num_images (int): the first ``num_images`` images of the dataset
            (spread evenly over it) are the probe set. Defaults to 48.
        interval (int): evaluate every ``interval`` training iterations
            (and before the first and after the last). Defaults to 50.
        batch_size (int): images per teacher forward. Defaults to 16.
        threshold (float, optional): tau; None reads
            ``model.pseudo_label_cfg['threshold']`` (DACS), else 0.968.
        out_file (str): JSON-lines file in the work dir.
            Defaults to ``'pseudo_label_diagnostic.jsonl'``.
        ignore_index (int): unlabelled value. Defaults to 255.
    """

    priority = 'LOW'  # after the EMA update (NORMAL): the teacher of the
    # next iteration

    def __init__(self,
                 dataset: dict,
                 num_images: int = 48,
                 interval: int = 50,
                 batch_size: int = 16,
                 threshold: Optional[float] = None,
                 out_file: str = 'pseudo_label_diagnostic.jsonl',
                 ignore_index: int = 255) -> None:
        if not isinstance(dataset, dict) or 'type' not in dataset:
            raise TypeError('PseudoLabelDiagnosticHook: `dataset` must be a '
                            'dataset config dict with a `type`, got '
                            f'{dataset!r:.200}')
        for name, v in (('num_images', num_images), ('interval', interval),
                        ('batch_size', batch_size)):
            if int(v) < 1:
                raise ValueError(f'PseudoLabelDiagnosticHook: {name} must be '
                                 f'>= 1, got {v}')
        if threshold is not None and not 0.0 < float(threshold) <= 1.0:
            raise ValueError('PseudoLabelDiagnosticHook: threshold must be in '
                             f'(0, 1], got {threshold}')
        self.dataset_cfg = copy.deepcopy(dataset)
        self.num_images = int(num_images)
        self.interval = int(interval)
        self.batch_size = int(batch_size)
        self.threshold = threshold
        self.out_file = out_file
        self.ignore_index = int(ignore_index)
        self._batches: Optional[List[dict]] = None
        self.history: List[dict] = []

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _model(runner):
        return unwrap(runner.model)

    def _probe_batches(self) -> List[dict]:
        if self._batches is None:
            ds = DATASETS.build(copy.deepcopy(self.dataset_cfg))
            n = len(ds)
            if n == 0:
                raise ValueError('PseudoLabelDiagnosticHook: the dataset '
                                 f'{self.dataset_cfg.get("type")} is empty')
            idx = np.linspace(0, n - 1, min(self.num_images, n)).round()
            items = [ds[int(i)] for i in sorted(set(idx.astype(int)))]
            for i, it in enumerate(items):
                if 'gt_sem_seg' not in it['data_samples']:
                    raise ValueError(
                        'PseudoLabelDiagnosticHook: dataset item '
                        f'{i} has no gt_sem_seg; its pipeline must load '
                        "the annotations (dict(type='LoadAnnotations'))")
            self.classes = list(ds.metainfo['classes'])
            self._batches = [pseudo_collate(items[i:i + self.batch_size])
                             for i in range(0, len(items),
                                            self.batch_size)]
        return self._batches

    def _tau(self, model) -> float:
        if self.threshold is not None:
            return float(self.threshold)
        cfg = getattr(model, 'pseudo_label_cfg', None) or {}
        return float(cfg.get('threshold', 0.968))

    @torch.no_grad()
    def evaluate(self, runner, iteration: Optional[int] = None) -> dict:
        """One evaluation of the probe set after ``iteration`` training
        iterations (default ``runner.iter``); returns (and stores) the
        record."""
        model = self._model(runner)
        if not hasattr(model, 'teacher_probs'):
            raise AttributeError(
                f'PseudoLabelDiagnosticHook: {type(model).__name__} has no '
                '`teacher_probs(img)` (the pseudo-labelling path of DACS)')
        tau = self._tau(model)
        C = int(model.num_classes)
        cm = torch.zeros(C, C, dtype=torch.int64)
        conf_sum = torch.zeros(C, dtype=torch.float64)
        above = torch.zeros(C, dtype=torch.int64)
        # leave the teacher (and the RNGs) exactly as they were
        nets = [m for m in (getattr(model, 'teacher', None),
                            getattr(model, 'student', None)) if m is not None]
        saved = [{k: v.clone() for k, v in n.state_dict().items()}
                 for n in nets]
        modes = [[m.training for m in n.modules()] for n in nets]
        rng = torch.get_rng_state()
        np_rng = np.random.get_state()
        try:
            for batch in self._probe_batches():
                data = model.data_preprocessor(batch, False)
                img = data['inputs']
                gt = torch.stack([s.gt_sem_seg.data[0]
                                  for s in data['data_samples']]).to(
                                      img.device)
                probs = model.teacher_probs(img).float()
                if probs.shape[-2:] != gt.shape[-2:]:
                    raise ValueError(
                        'PseudoLabelDiagnosticHook: teacher output '
                        f'{tuple(probs.shape[-2:])} and labels '
                        f'{tuple(gt.shape[-2:])} differ in size')
                conf, pred = probs.max(1)
                cm += confusion_counts(pred, gt, C,
                                       self.ignore_index).cpu()
                valid = gt != self.ignore_index
                g = gt[valid].long()
                conf_sum += torch.bincount(
                    g, weights=conf[valid].double(), minlength=C).cpu()
                above += torch.bincount(
                    g[conf[valid] >= tau], minlength=C).cpu()
        finally:
            for n, state, mode in zip(nets, saved, modes):
                n.load_state_dict(state)
                for m, t in zip(n.modules(), mode):
                    m.training = t
            torch.set_rng_state(rng)
            np.random.set_state(np_rng)
        cm_np = cm.numpy()
        total = max(int(cm_np.sum()), 1)
        rec = dict(
            iter=int(runner.iter if iteration is None else iteration),
            threshold=tau,
            weight=float(above.sum()) / total,
            acc=float(100.0 * np.trace(cm_np) / total),
            per_class=summarise_counts(cm_np, conf_sum.numpy(),
                                       above.numpy(), self.classes),
            confusion=cm_np.tolist(), classes=self.classes)
        self.history.append(rec)
        self._write(runner, rec)
        return rec

    def _write(self, runner, rec: dict) -> None:
        path = osp.join(runner.work_dir, self.out_file)
        with open(path, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        parts = []
        for name, r in rec['per_class'].items():
            if 'recall' in r:
                parts.append(f'{name} {r["recall"]:.0f}%/c{r["conf"]:.2f}')
        runner.logger.info(
            f'pseudo-label diagnostic iter {rec["iter"]}: acc '
            f'{rec["acc"]:.1f}%, weight(tau={rec["threshold"]}) '
            f'{rec["weight"]:.3f}; per class recall/confidence: ' +
            ', '.join(parts))
        scalars = {'pl_diag/acc': rec['acc'], 'pl_diag/weight': rec['weight']}
        for name, r in rec['per_class'].items():
            if 'recall' in r:
                key = name.replace(' ', '_')
                scalars[f'pl_diag/recall_{key}'] = r['recall']
                scalars[f'pl_diag/conf_{key}'] = r['conf']
        try:
            runner.visualizer.add_scalars(scalars, step=rec['iter'])
        except Exception:  # a visualizer without scalar backends
            pass

    # --------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        if runner.iter == 0:
            self.evaluate(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval) or \
                self.is_last_train_iter(runner):
            # runner.iter is still the index of the iteration just done
            self.evaluate(runner, runner.iter + 1)


def load_diagnostic(path: str) -> List[dict]:
    """The records of a diagnostic file (one per evaluation)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'pseudo-label diagnostic {path} does not '
                                'exist (was the run made with '
                                'PseudoLabelDiagnosticHook?)')
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def diagnostic_table(records: List[dict], field: str = 'recall',
                     classes: Optional[Sequence[str]] = None,
                     every: int = 1) -> str:
    """Markdown table: one line per class, one column per evaluation,
    cells ``records[i]['per_class'][class][field]``."""
    recs = records[::every]
    if records and recs[-1] is not records[-1]:
        recs.append(records[-1])
    if classes is None:
        classes = [c for c in (records[0]['classes'] if records else [])
                   if any(c in r['per_class'] and field in r['per_class'][c]
                          for r in records)]
    lines = ['| class | ' + ' | '.join(f'it {r["iter"]}' for r in recs) +
             ' |', '|---|' + '---|' * len(recs)]
    for c in classes:
        cells = []
        for r in recs:
            v = r['per_class'].get(c, {}).get(field)
            cells.append('-' if v is None else
                         (f'{v:.2f}' if field == 'conf' else f'{v:.0f}'))
        lines.append(f'| {c} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
