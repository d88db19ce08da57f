"""Clear errors for inputs that would otherwise fail deep inside a loss.

:class:`SanityCheckHook` checks, before training, that the number of classes
agrees between the model, the training data and the discriminators, and, on
every training batch (before the data preprocessor pads or crops anything),
that each label map has its image's size and holds only class ids
``0 .. num_classes - 1`` or the ignore index. The errors name the offending
file (``seg_map_path`` / ``img_path`` of the sample) or config key and the
expected value.

Without these checks an out-of-range id ends in torch's
``IndexError: Target 30 is out of bounds`` (no file named), and a size
mismatch in a broadcasting error in the mixing code.

Declared for every run in ``configs/_base_/default_runtime.py``
(``default_hooks.sanity_check``); ``sanity_check = False`` in a config (or
``default_hooks = dict(sanity_check=dict(enabled=False))``) turns it off.
"""
from typing import Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.hooks import Hook

from mmda.models.utils import unwrap as _unwrap
from mmda.registry import HOOKS


class InputError(ValueError):
    """A dataset sample or a config value that the method cannot use."""


def model_num_classes(model: nn.Module) -> Optional[int]:
    """Number of classes of a segmentor (mmseg ``EncoderDecoder`` or an mmda
    UDA segmentor); ``None`` for models without a decode head (CycleGAN)."""
    model = _unwrap(model)
    n = getattr(model, 'num_classes', None)
    if isinstance(n, int):
        return n
    head = getattr(model, 'decode_head', None)
    if head is not None and isinstance(getattr(head, 'num_classes', None),
                                       int):
        return head.num_classes
    return None


def _first_conv_in_channels(module: nn.Module) -> Optional[int]:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            return m.in_channels if isinstance(m, nn.Conv2d) else \
                m.in_features
    return None


def check_num_classes(model: nn.Module,
                      dataset_classes: Optional[Sequence[str]] = None,
                      dataset_name: str = 'train_dataloader.dataset') -> None:
    """Raise :class:`InputError` if the model's number of classes differs
    from the data's (``metainfo['classes']``) or a discriminator's.

    Output-space discriminators (``global_discriminator``) take the softmax
    map: their first layer must have ``num_classes`` input channels; class-
    wise discriminators (``semantic_discriminator``) have ``num_classes``.
    """
    n = model_num_classes(model)
    if n is None:
        return
    if dataset_classes is not None and len(dataset_classes) != n:
        raise InputError(
            f'num_classes mismatch: the model predicts {n} classes '
            f'(model.decode_head.num_classes) but {dataset_name} has '
            f'{len(dataset_classes)} classes in its metainfo '
            f'({tuple(dataset_classes)[:4]}...); expected {n} classes in '
            'the data or num_classes='
            f'{len(dataset_classes)} in the model')
    model = _unwrap(model)
    disc = getattr(model, 'global_discriminator', None)
    if isinstance(disc, nn.Module):
        c = _first_conv_in_channels(_unwrap(disc))
        if c is not None and c != n:
            raise InputError(
                f'num_classes mismatch: model.global_discriminator takes '
                f'{c} input channels but the segmentor predicts {n} classes '
                f'(expected global_discriminator.in_channels={n})')
    disc = getattr(model, 'semantic_discriminator', None)
    if isinstance(disc, nn.Module):
        c = getattr(_unwrap(disc), 'num_classes', None)
        if c is not None and c != n:
            raise InputError(
                f'num_classes mismatch: model.semantic_discriminator has '
                f'{c} classes but the segmentor predicts {n} (expected '
                f'semantic_discriminator.num_classes={n})')


def _sample_name(sample) -> str:
    meta = getattr(sample, 'metainfo', {}) or {}
    return str(meta.get('seg_map_path') or meta.get('img_path') or
               '<sample without path>')


def _pairs(data_batch) -> Iterable[Tuple[str, list, list]]:
    """(key, inputs, data_samples) of a collated batch: mmseg's
    ``inputs``/``data_samples`` and mmda's ``target_inputs``/
    ``target_data_samples`` and the like."""
    if not isinstance(data_batch, dict):
        return
    for key, inputs in data_batch.items():
        if not key.endswith('inputs'):
            continue
        samples = data_batch.get(key[:-len('inputs')] + 'data_samples')
        if isinstance(inputs, (list, tuple)) and isinstance(
                samples, (list, tuple)):
            yield key, list(inputs), list(samples)
        elif torch.is_tensor(inputs) and isinstance(samples, (list, tuple)):
            yield key, list(inputs.unbind(0)), list(samples)


def check_batch(data_batch, num_classes: Optional[int],
                ignore_index: int = 255) -> None:
    """Check every labelled sample of a collated batch (see module doc)."""
    for key, inputs, samples in _pairs(data_batch):
        if len(inputs) != len(samples):
            raise InputError(f'batch key {key!r}: {len(inputs)} images but '
                             f'{len(samples)} data samples')
        for img, sample in zip(inputs, samples):
            seg = getattr(sample, 'gt_sem_seg', None)
            if seg is None:
                continue
            label = seg.data
            if tuple(label.shape[-2:]) != tuple(img.shape[-2:]):
                meta = getattr(sample, 'metainfo', {}) or {}
                raise InputError(
                    f'label map {_sample_name(sample)} is '
                    f'{tuple(label.shape[-2:])} (HxW) but its image '
                    f'{meta.get("img_path", "")} is '
                    f'{tuple(img.shape[-2:])}: expected the same size')
            if num_classes is None:
                continue
            bad = (label != ignore_index) & ((label < 0) |
                                             (label >= num_classes))
            if bool(bad.any()):
                values = torch.unique(label[bad])[:10].tolist()
                raise InputError(
                    f'label map {_sample_name(sample)} holds class ids '
                    f'{values} outside the class mapping: expected train '
                    f'ids 0..{num_classes - 1} or {ignore_index} (ignore). '
                    'Convert the labels to train ids (see '
                    'tools/dataset_converters/) or fix the dataset\'s '
                    'label_map')


@HOOKS.register_module()
class SanityCheckHook(Hook):
    """Check class counts before training and every training batch.

    Args:
        check_batches (bool): check labels and sizes of every training
            batch (vectorised; costs a ``unique`` per bad batch only).
            Defaults to True.
        ignore_index (int): the ignore label. Defaults to 255.
        enabled (bool, optional): False turns the checks off. Defaults to
            the top-level config key ``sanity_check`` (True when absent);
            the hook is declared in ``configs/_base_/default_runtime.py``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_batches: bool = True,
                 ignore_index: int = 255,
                 enabled: Optional[bool] = None) -> None:
        self.check_batches = check_batches
        self.ignore_index = ignore_index
        self.enabled = enabled
        self._num_classes: Optional[int] = None

    def before_run(self, runner) -> None:
        if self.enabled is None:
            cfg = getattr(runner, 'cfg', None)
            self.enabled = bool(cfg.get('sanity_check', True)) \
                if cfg is not None else True

    def before_train(self, runner) -> None:
        if self.enabled is False:
            return
        self._num_classes = model_num_classes(runner.model)
        classes = None
        try:
            classes = runner.train_dataloader.dataset.metainfo.get('classes')
        except AttributeError:
            pass
        check_num_classes(runner.model, classes)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self.enabled is not False and self.check_batches and \
                data_batch is not None:
            check_batch(data_batch, self._num_classes, self.ignore_index)


__all__: List[str] = ['SanityCheckHook', 'InputError', 'check_batch',
                      'check_num_classes', 'model_num_classes']
