"""Let torch>=2.6's ``weights_only=True`` loader read mmengine checkpoints.

torch 2.6 changed ``torch.load``'s default to ``weights_only=True``; mmengine
0.10.7 stores a ``MessageHub`` state (``HistoryBuffer`` objects holding numpy
arrays) and numpy scalars in its checkpoints, which that loader refuses, so
``--resume`` and ``load_from`` fail with an ``UnpicklingError``.

Instead of switching the safety off, we add exactly the classes mmengine
writes to torch's allow-list (``torch.serialization.add_safe_globals``).
Arbitrary pickled objects are still refused.

Also: loading one generator out of a CycleGAN checkpoint
(:func:`load_generator_weights`).
"""
import os.path as osp
from typing import Dict, Union

import numpy as np
import torch
import torch.nn as nn

_DONE = False


def _numpy_globals():
    items = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    items += [_reconstruct, scalar]
    # dtype classes (numpy >= 1.25 has numpy.dtypes)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [getattr(dtypes, n) for n in dir(dtypes)
                  if n.endswith('DType') and isinstance(getattr(dtypes, n), type)]
    items += [np.float64, np.float32, np.float16, np.int64, np.int32,
              np.int16, np.int8, np.uint8, np.bool_]
    return items


def _history_buffer_getattr(obj, name):
    """Stand-in for ``getattr`` while unpickling mmengine checkpoints.

    ``HistoryBuffer.__getstate__`` stores its statistics methods, which pickle
    as ``getattr(HistoryBuffer, 'mean')``. Allow-listing the real ``getattr``
    would let a crafted file reach arbitrary attributes; this one resolves
    only HistoryBuffer's statistics methods.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean'} | set(
        HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    import pickle
    raise pickle.UnpicklingError(
        f'mmda checkpoint loader: refusing getattr({obj!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed')


def _mmengine_globals():
    from mmengine.logging.history_buffer import HistoryBuffer
    items = [HistoryBuffer,
             (_history_buffer_getattr, '__builtin__.getattr'),
             (_history_buffer_getattr, 'builtins.getattr')]
    try:
        from mmengine.config import ConfigDict
        items.append(ConfigDict)
    except ImportError:  # pragma: no cover
        pass
    return items


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-list the (few) non-tensor types mmengine writes in checkpoints."""
    global _DONE
    if _DONE:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 loads everything anyway
        _DONE = True
        return
    import collections
    add(_numpy_globals() + _mmengine_globals() +
        [collections.OrderedDict, collections.defaultdict])
    _DONE = True


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated or not a torch checkpoint."""


def check_checkpoint_file(path: str) -> None:
    """Fail early, naming the file, when a checkpoint cannot be read.

    torch>=1.6 checkpoints are zip archives: a truncated file (e.g. a save
    killed half-way) has no readable central directory, a foreign file has
    none at all. Legacy (pre-zip) pickles are accepted and left to
    ``torch.load``.
    """
    import os
    import zipfile
    if path.startswith(('http://', 'https://', 'torchvision://', 'open-mmlab://',
                        'mmcls://', 'pavi://', 's3://')):
        return
    if not os.path.isfile(path):
        raise CheckpointError(f'Checkpoint file not found: {path!r}')
    size = os.path.getsize(path)
    if size == 0:
        raise CheckpointError(f'Checkpoint file {path!r} is empty')
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as e:
            raise CheckpointError(
                f'Checkpoint file {path!r} is corrupt or truncated ({e})') from e
        if not any(n.endswith('data.pkl') for n in names):
            raise CheckpointError(
                f'{path!r} is a zip archive but not a torch checkpoint '
                '(no data.pkl inside)')
        return
    with open(path, 'rb') as f:
        head = f.read(2)
    # Legacy torch.save files start with a pickle protocol marker (0x80).
    if head[:1] != b'\x80':
        raise CheckpointError(
            f'{path!r} is not a torch checkpoint (expected a zip archive '
            'written by torch.save) or it is truncated')


# ------------------------------------------------ CycleGAN generator weights
DIRECTIONS = ('a2b', 'b2a')


def generator_prefix(direction: str = 'a2b', ema: bool = True) -> str:
    """State-dict prefix of a :class:`~mmda.models.translators.CycleGAN` generator."""
    if direction not in DIRECTIONS:
        raise ValueError(f'direction must be one of {DIRECTIONS}, got '
                         f'{direction!r}')
    return f'gen_{direction}_ema.' if ema else f'gen_{direction}.'


def _read_state_dict(checkpoint: Union[str, dict]) -> Dict[str, torch.Tensor]:
    if isinstance(checkpoint, str):
        if not osp.isfile(checkpoint):
            from mmda.utils.weights import missing_message
            raise FileNotFoundError(
                'generator checkpoint: ' + missing_message(checkpoint) +
                ' In a mean-teacher config the key is '
                'model.translator.checkpoint (Day2NightTranslator); for '
                "tools/translate.py it is the checkpoint argument.")
        # mmengine checkpoints hold a MessageHub state etc.; allow-list
        # those types for torch's weights_only loader.
        allow_mmengine_checkpoint_globals()
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    else:
        ckpt = checkpoint
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        raise TypeError(f'generator checkpoint {checkpoint!r}: expected a '
                        f'(mmengine) state dict, got {type(ckpt).__name__}')
    return {(k[7:] if k.startswith('module.') else k): v
            for k, v in ckpt.items()}


def load_generator_weights(generator: nn.Module,
                           checkpoint: Union[str, dict],
                           direction: str = 'a2b',
                           ema: bool = True) -> str:
    """Load one generator out of a :class:`~mmda.models.translators.CycleGAN` checkpoint.

    Takes the keys ``gen_{direction}_ema.*`` (``ema=True``, the generator
    used for translation) or ``gen_{direction}.*``; a checkpoint holding a
    bare generator state dict (keys of ``generator.state_dict()``) is also
    accepted. Raises a ``KeyError`` naming the missing keys, or a
    ``ValueError`` naming shape mismatches, when the checkpoint does not fit
    the configured generator.

    Returns:
        str: The prefix the weights were taken from ('' for a bare dict).
    """
    state = _read_state_dict(checkpoint)
    name = checkpoint if isinstance(checkpoint, str) else '<state dict>'
    own = generator.state_dict()
    prefix = generator_prefix(direction, ema)
    if any(k.startswith(prefix) for k in state):
        sub = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix)}
    elif all(k in state for k in own):
        prefix, sub = '', state
    else:
        gens = sorted({k.split('.', 1)[0] for k in state
                       if k.startswith('gen_')})
        hint = ''
        if ema and f'gen_{direction}' in gens:
            hint = ' (the raw generator is there: use ema=False / --no-ema)'
        raise KeyError(
            f'generator checkpoint {name!r} has no keys "{prefix}*" (the '
            f'{"EMA " if ema else ""}{direction} generator of a CycleGAN '
            f'checkpoint); generator prefixes found: {gens or "none"}{hint}; '
            f'missing e.g. {[prefix + k for k in list(own)[:3]]}')
    missing = [prefix + k for k in own if k not in sub]
    unexpected = [prefix + k for k in sub if k not in own]
    if missing or unexpected:
        raise KeyError(
            f'generator checkpoint {name!r} does not fit the configured '
            f'{type(generator).__name__}: missing keys {missing[:8]}'
            f'{"..." if len(missing) > 8 else ""} ({len(missing)}), '
            f'unexpected keys {unexpected[:8]}'
            f'{"..." if len(unexpected) > 8 else ""} ({len(unexpected)}); '
            'check base_channels / num_blocks / upsample_mode / norm_cfg')
    bad = [(prefix + k, tuple(sub[k].shape), tuple(v.shape))
           for k, v in own.items() if sub[k].shape != v.shape]
    if bad:
        raise ValueError(
            f'generator checkpoint {name!r} does not fit the configured '
            f'{type(generator).__name__}: shape mismatch (key, checkpoint, '
            f'model) {bad[:4]}; check base_channels / num_blocks')
    generator.load_state_dict(sub, strict=True)
    return prefix
