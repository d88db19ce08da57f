"""Label conversion shared by the dataset converters of mmda's real datasets
(``tools/dataset_converters/{gta,synthia}.py`` through
:func:`mmda.datasets.gta.convert_gta5` and
:func:`mmda.datasets.synthia.convert_synthia`).

* :class:`LabelIdMapper` - vectorised (lookup-table) mapping of a dataset's
  original label ids to train ids, with per-image class statistics and a
  clear error for ids the dataset does not define.
* :func:`save_class_stats` - DAFormer-compatible class statistics files for
  rare-class sampling (``sample_class_stats.json``,
  ``sample_class_stats_dict.json``, ``samples_with_class.json``).
* :func:`convert_label_pairs` - the image/label pair conversion driver
  (progress bar, multiprocessing, size-mismatch policy, split file).

The datasets whose labels this converts (GTA5, SYNTHIA) share
:class:`mmda.datasets.converted_dataset.ConvertedLabelDataset`.
"""
import json
import multiprocessing
import os
import os.path as osp
import warnings
from functools import partial
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from .utils import (DEFAULT_SPLIT_FILE, IGNORE_INDEX, NUM_CLASSES,
                    TRAIN_ID_SUFFIX, check_dir)


# --------------------------------------------------------------------------
# Label id -> train id mapping
# --------------------------------------------------------------------------
class LabelIdMapper:
    """Map a dataset's original label ids to train ids with a lookup table.

    Ids in ``id_to_trainid`` map to their train id; ids the dataset defines
    (``0 <= id < num_ids``) but that are not one of the 19 classes map to
    ``ignore_index``; ids outside ``[0, num_ids)`` raise a ``ValueError``
    naming the file and the offending ids.

    Args:
        id_to_trainid (Mapping[int, int]): Original id -> train id.
        num_ids (int): Number of ids the dataset defines (ids are
            ``0 .. num_ids - 1``), e.g. 34 for GTA5 / Cityscapes label ids.
        dataset (str): Dataset name used in error messages.
        num_classes (int): Number of train ids. Defaults to 19.
        ignore_index (int): Value of unmapped pixels. Defaults to 255.
    """

    def __init__(self,
                 id_to_trainid: Mapping[int, int],
                 num_ids: int,
                 dataset: str,
                 num_classes: int = NUM_CLASSES,
                 ignore_index: int = IGNORE_INDEX) -> None:
        bad = {k: v for k, v in id_to_trainid.items()
               if not 0 <= k < num_ids or not 0 <= v < num_classes}
        if bad:
            raise ValueError(f'{dataset}: invalid id -> train id entries '
                             f'{bad} (ids must be in [0, {num_ids}), train '
                             f'ids in [0, {num_classes}))')
        self.num_ids = num_ids
        self.dataset = dataset
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.lut = np.full(num_ids, ignore_index, dtype=np.uint8)
        for k, v in id_to_trainid.items():
            self.lut[k] = v

    def __call__(self, label: np.ndarray,
                 filename: str = '<array>'
                 ) -> Tuple[np.ndarray, Dict[int, int]]:
        """Map one label map.

        Args:
            label (np.ndarray): Integer label map of original ids, (H, W).
            filename (str): Shown in errors.

        Returns:
            tuple[np.ndarray, dict[int, int]]: The uint8 train-id map and the
            pixel count of every train id present (ignore not counted).
        """
        if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
            raise ValueError(
                f'{filename}: expected a 2-D integer label map of '
                f'{self.dataset} label ids, got shape {label.shape} and '
                f'dtype {label.dtype}')
        flat = label.reshape(-1)
        if flat.size and flat.min() < 0:
            neg = np.unique(flat[flat < 0]).tolist()
            raise ValueError(self._undefined_msg(filename, neg))
        # one pass over the pixels: histogram of the original ids
        counts = np.bincount(flat, minlength=self.num_ids)
        if counts.size > self.num_ids:
            undefined = (np.nonzero(counts[self.num_ids:])[0] +
                         self.num_ids).tolist()
            if undefined:
                raise ValueError(self._undefined_msg(filename, undefined))
            counts = counts[:self.num_ids]
        train_ids = self.lut[label]
        per_train_id = np.bincount(
            self.lut, weights=counts, minlength=256)[:self.num_classes]
        stats = {int(c): int(n) for c, n in enumerate(per_train_id) if n > 0}
        return train_ids, stats

    def _undefined_msg(self, filename: str, ids: List[int]) -> str:
        shown = ids[:20]
        more = f' (and {len(ids) - 20} more)' if len(ids) > 20 else ''
        return (f'{filename}: label ids {shown}{more} are not defined by '
                f'{self.dataset} (expected ids in [0, {self.num_ids - 1}]); '
                'is this the right dataset / label folder?')


# --------------------------------------------------------------------------
# Class statistics (DAFormer format, for rare-class sampling)
# --------------------------------------------------------------------------
def save_class_stats(out_dir: str, sample_stats: Sequence[dict]) -> None:
    """Write the class statistics files DAFormer's rare-class sampling reads.

    Files written into ``out_dir``:

    * ``sample_class_stats.json``: list of ``{"file": <label path>,
      "<train id>": <pixel count>, ...}`` (only the train ids present).
    * ``sample_class_stats_dict.json``: ``{<label path>: {"<train id>":
      <pixel count>}}``.
    * ``samples_with_class.json``: ``{"<train id>": [[<label path>,
      <pixel count>], ...]}``.

    Args:
        out_dir (str): Output directory.
        sample_stats (Sequence[dict]): One dict per converted label with key
            ``'file'`` (label path relative to the dataset root) and
            ``int`` train id -> pixel count entries.
    """
    os.makedirs(out_dir, exist_ok=True)
    as_list, as_dict = [], {}
    samples_with_class: Dict[str, list] = {}
    for stats in sample_stats:
        stats = dict(stats)
        file = stats.pop('file')
        per_class = {str(int(c)): int(n) for c, n in sorted(stats.items())}
        as_list.append(dict(file=file, **per_class))
        as_dict[file] = per_class
        for c, n in per_class.items():
            samples_with_class.setdefault(c, []).append([file, n])
    samples_with_class = {
        k: samples_with_class[k]
        for k in sorted(samples_with_class, key=int)
    }
    for name, obj in (('sample_class_stats.json', as_list),
                      ('sample_class_stats_dict.json', as_dict),
                      ('samples_with_class.json', samples_with_class)):
        with open(osp.join(out_dir, name), 'w') as f:
            json.dump(obj, f, indent=2)


# --------------------------------------------------------------------------
# Conversion driver
# --------------------------------------------------------------------------
def list_label_files(label_dir: str, suffix: str = '.png') -> List[str]:
    """Sorted label file names (relative to ``label_dir``, recursive),
    excluding already converted ``*_labelTrainIds.png`` files."""
    names = []
    for root, _, files in os.walk(label_dir):
        for f in files:
            if f.endswith(suffix) and not f.endswith(TRAIN_ID_SUFFIX):
                names.append(osp.relpath(osp.join(root, f), label_dir))
    return sorted(names)


def _image_size(path: str) -> Tuple[int, int]:
    """(width, height) from the image header, without decoding pixels."""
    with Image.open(path) as img:
        return img.size


def _convert_one(name: str, root: str, img_dir: str, label_dir: str,
                 img_suffix: str, label_suffix: str,
                 read_label: Callable[[str], np.ndarray],
                 mapper: LabelIdMapper, on_size_mismatch: str) -> dict:
    """Convert one label; runs in worker processes (module-level so that it
    pickles). Returns a dict with ``name``, ``stats`` (None if skipped) and
    ``warning`` (None or a message the parent process warns with)."""
    stem = name[:-len(label_suffix)]
    label_path = osp.join(root, label_dir, name)
    img_path = osp.join(root, img_dir, stem + img_suffix)
    if not osp.isfile(img_path):
        raise FileNotFoundError(
            f'{label_path}: the matching image {img_path!r} does not exist '
            f'(expected {img_dir}/{stem}{img_suffix} next to '
            f'{label_dir}/{name})')
    label = read_label(label_path)
    train_ids, stats = mapper(label, label_path)
    warning = None
    w, h = _image_size(img_path)
    if train_ids.shape != (h, w):
        lh, lw = train_ids.shape
        if on_size_mismatch == 'skip':
            return dict(
                name=stem, stats=None,
                warning=f'{label_path}: label size {lw}x{lh} differs from '
                f'image size {w}x{h}; skipped (not in the split file)')
        train_ids = cv2.resize(
            train_ids, (w, h), interpolation=cv2.INTER_NEAREST)
        stats = count_train_ids(train_ids, mapper.num_classes)
        warning = (f'{label_path}: label size {lw}x{lh} differs from image '
                   f'size {w}x{h}; label resized (nearest) to {w}x{h}')
    out_rel = osp.join(label_dir, stem + TRAIN_ID_SUFFIX)
    # 2-D uint8 -> 8-bit grayscale PNG
    Image.fromarray(np.ascontiguousarray(train_ids, dtype=np.uint8)).save(
        osp.join(root, out_rel))
    stats = dict(stats)
    stats['file'] = out_rel.replace(os.sep, '/')
    return dict(name=stem, stats=stats, warning=warning)


def count_train_ids(train_ids: np.ndarray,
                    num_classes: int = NUM_CLASSES) -> Dict[int, int]:
    """Pixel count of each train id present in a train-id map (255 and
    other values ``>= num_classes`` are not counted)."""
    counts = np.bincount(train_ids.reshape(-1), minlength=256)[:num_classes]
    return {int(c): int(n) for c, n in enumerate(counts) if n > 0}


def track_map(func: Callable, items: Sequence, nproc: int = 1,
              desc: str = '') -> list:
    """``[func(x) for x in items]`` with a tqdm progress bar, optionally in
    ``nproc`` worker processes (results in input order; a worker's exception
    is re-raised here)."""
    from tqdm import tqdm
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}')
    if nproc == 1 or len(items) <= 1:
        return [func(x) for x in tqdm(items, desc=desc)]
    chunksize = max(1, min(64, len(items) // (nproc * 8)))
    with multiprocessing.Pool(nproc) as pool:
        return list(
            tqdm(pool.imap(func, items, chunksize=chunksize),
                 total=len(items), desc=desc))


def convert_label_pairs(root: str,
                        img_dir: str,
                        label_dir: str,
                        read_label: Callable[[str], np.ndarray],
                        mapper: LabelIdMapper,
                        layout: str,
                        img_suffix: str = '.png',
                        label_suffix: str = '.png',
                        out_dir: Optional[str] = None,
                        nproc: int = 1,
                        on_size_mismatch: str = 'resize',
                        split_file: str = DEFAULT_SPLIT_FILE) -> List[dict]:
    """Convert every label of an image/label folder pair to train ids.

    For each ``{label_dir}/X{label_suffix}`` (recursively, skipping existing
    ``*_labelTrainIds.png``) writes ``{label_dir}/X_labelTrainIds.png`` and
    collects its class statistics. Then writes the statistics files
    (:func:`save_class_stats`) and a split file listing the converted
    samples ``X`` into ``out_dir``.

    Args:
        root (str): Dataset root.
        img_dir (str): Image folder relative to ``root``.
        label_dir (str): Label folder relative to ``root``.
        read_label (Callable): ``path -> 2-D integer array`` of original ids
            (a module-level function, so that it pickles for ``nproc > 1``).
        mapper (LabelIdMapper): The id mapping.
        layout (str): Expected layout, shown in missing-folder errors.
        img_suffix (str): Image file suffix. Defaults to ``'.png'``.
        label_suffix (str): Original label suffix. Defaults to ``'.png'``.
        out_dir (str, optional): Where the statistics and split file go.
            Defaults to ``root``.
        nproc (int): Number of worker processes. Defaults to 1.
        on_size_mismatch (str): ``'resize'`` (resize the label to the image,
            nearest, with a warning) or ``'skip'`` (leave the sample out of
            the split file and statistics, with a warning).
        split_file (str): Name of the split file. Defaults to ``train.txt``.

    Returns:
        list[dict]: Per-sample statistics (as in ``sample_class_stats.json``).
    """
    if on_size_mismatch not in ('resize', 'skip'):
        raise ValueError("on_size_mismatch must be 'resize' or 'skip', got "
                         f'{on_size_mismatch!r}')
    check_dir(root, f'{mapper.dataset} root', layout)
    check_dir(osp.join(root, img_dir), f'{mapper.dataset} images', layout)
    check_dir(osp.join(root, label_dir), f'{mapper.dataset} labels', layout)
    names = list_label_files(osp.join(root, label_dir), label_suffix)
    if not names:
        raise FileNotFoundError(
            f'{mapper.dataset}: no *{label_suffix} label files found in '
            f'{osp.join(root, label_dir)!r}. Expected layout:\n{layout}')
    func = partial(
        _convert_one,
        root=root,
        img_dir=img_dir,
        label_dir=label_dir,
        img_suffix=img_suffix,
        label_suffix=label_suffix,
        read_label=read_label,
        mapper=mapper,
        on_size_mismatch=on_size_mismatch)
    results = track_map(func, names, nproc, desc=f'{mapper.dataset} labels')
    for r in results:
        if r['warning']:
            warnings.warn(r['warning'], stacklevel=2)
    converted = [r for r in results if r['stats'] is not None]
    out_dir = root if out_dir is None else out_dir
    stats = [r['stats'] for r in converted]
    save_class_stats(out_dir, stats)
    with open(osp.join(out_dir, split_file), 'w') as f:
        f.writelines(r['name'].replace(os.sep, '/') + '\n'
                     for r in converted)
    skipped = len(results) - len(converted)
    print(f'{mapper.dataset}: converted {len(converted)} labels'
          f'{f", skipped {skipped}" if skipped else ""}; statistics and '
          f'{split_file} written to {out_dir}')
    return stats
