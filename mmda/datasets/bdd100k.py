"""BDD100K night-time images as an unlabelled target domain.

Scherer et al. (§4.1) train the mean teacher on unlabelled night images of
Dark Zurich and BDD100K. BDD100K ships ``images/100k/{train,val}/*.jpg`` and
the image attributes in ``labels/bdd100k_labels_images_{train,val}.json``
(a list of records with ``name`` and ``attributes.timeofday`` in
``daytime``, ``night``, ``dawn/dusk``, ``undefined``;
docs/methods.md#dataset-formats). ``tools/dataset_converters/bdd100k_night.py``
(:func:`write_bdd100k_timeofday_split`) writes the night-time image names to
``night_{train,val}.txt``; :class:`BDD100KNightDataset` reads them.
"""
import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

from mmda.registry import DATASETS
from .utils import CheckedSegDataset, check_dir, check_file

BDD100K_LAYOUT = """\
data/bdd100k/
├── images/100k/train/*.jpg, images/100k/val/*.jpg
├── labels/bdd100k_labels_images_train.json
├── labels/bdd100k_labels_images_val.json
└── night_train.txt, night_val.txt  (*)
(*) written by tools/dataset_converters/bdd100k_night.py"""

#: Values of ``attributes.timeofday`` in the BDD100K image labels.
BDD100K_TIMES_OF_DAY = ('daytime', 'night', 'dawn/dusk', 'undefined')


def timeofday_split_name(timeofday: str, split: str) -> str:
    """Split file name, e.g. ``night_train.txt`` (``/`` becomes ``_``)."""
    return f"{timeofday.replace('/', '_')}_{split}.txt"


def select_timeofday(records: list, timeofday: str,
                     filename: str = '<records>') -> List[str]:
    """Image names (without ``.jpg``) of the records with the given time of
    day, in file order.

    Args:
        records (list): The BDD100K image label records.
        timeofday (str): One of :data:`BDD100K_TIMES_OF_DAY`.
        filename (str): Shown in errors.
    """
    if not isinstance(records, list):
        raise ValueError(f'{filename}: expected a JSON list of image records '
                         f'(BDD100K image labels), got '
                         f'{type(records).__name__}')
    names = []
    for i, rec in enumerate(records):
        try:
            name = rec['name']
            value = rec['attributes']['timeofday']
        except (KeyError, TypeError):
            raise ValueError(
                f'{filename}: record {i} has no "name" and '
                '"attributes.timeofday" (expected BDD100K image labels: '
                '{"name": "xxx.jpg", "attributes": {"timeofday": ...}})'
            ) from None
        if value not in BDD100K_TIMES_OF_DAY:
            raise ValueError(
                f'{filename}: record {i} ({name}) has timeofday {value!r}; '
                f'expected one of {BDD100K_TIMES_OF_DAY}')
        if value != timeofday:
            continue
        if not name.endswith('.jpg'):
            raise ValueError(f'{filename}: record {i} has image name '
                             f'{name!r}; expected a *.jpg name')
        names.append(name[:-len('.jpg')])
    return names


def write_bdd100k_timeofday_split(root: str,
                                  splits: Sequence[str] = ('train', 'val'),
                                  timeofday: str = 'night',
                                  out_dir: Optional[str] = None,
                                  check_images: bool = True
                                  ) -> Dict[str, List[str]]:
    """Write the names of the BDD100K images taken at ``timeofday``.

    For each split reads ``{root}/labels/bdd100k_labels_images_{split}.json``
    and writes ``{out_dir}/{timeofday}_{split}.txt`` (one image name without
    ``.jpg`` per line, the ``ann_file`` format of ``BaseSegDataset``).

    Args:
        root (str): BDD100K root.
        splits (Sequence[str]): Splits to process. Defaults to
            ``('train', 'val')``.
        timeofday (str): Defaults to ``'night'``.
        out_dir (str, optional): Defaults to ``root``.
        check_images (bool): Drop (with a warning) names whose image is not
            in ``images/100k/{split}/``, if that folder exists. Defaults to
            True.

    Returns:
        dict[str, list[str]]: The names written, per split.
    """
    if timeofday not in BDD100K_TIMES_OF_DAY:
        raise ValueError(f'timeofday must be one of {BDD100K_TIMES_OF_DAY}, '
                         f'got {timeofday!r}')
    check_dir(root, 'BDD100K root', BDD100K_LAYOUT)
    out_dir = root if out_dir is None else out_dir
    written = {}
    for split in splits:
        json_file = osp.join(root, 'labels',
                             f'bdd100k_labels_images_{split}.json')
        check_file(json_file, f'BDD100K {split} image labels',
                   f'Expected layout:\n{BDD100K_LAYOUT}')
        with open(json_file) as f:
            try:
                records = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f'{json_file}: not valid JSON ({e})') from e
        names = select_timeofday(records, timeofday, json_file)
        img_dir = osp.join(root, 'images', '100k', split)
        if check_images:
            if osp.isdir(img_dir):
                missing = [n for n in names
                           if not osp.isfile(osp.join(img_dir, n + '.jpg'))]
                if missing:
                    warnings.warn(
                        f'{len(missing)} {timeofday} images listed in '
                        f'{json_file} are not in {img_dir} (e.g. '
                        f'{missing[0]}.jpg); left out of the split file')
                    missing_set = set(missing)
                    names = [n for n in names if n not in missing_set]
            else:
                warnings.warn(f'{img_dir} does not exist; the split file is '
                              'written without checking the images')
        out_file = osp.join(out_dir, timeofday_split_name(timeofday, split))
        with open(out_file, 'w') as f:
            f.writelines(n + '\n' for n in names)
        print(f'BDD100K {split}: {len(names)} of {len(records)} images are '
              f'{timeofday!r}; written to {out_file}')
        written[split] = names
    return written


@DATASETS.register_module()
class BDD100KNightDataset(CheckedSegDataset):
    """Unlabelled BDD100K images (by default the night-time training ones).

    A target domain for unsupervised adaptation: samples have an image and
    no label map. With ``ann_file='night_train.txt'`` (written by
    ``tools/dataset_converters/bdd100k_night.py``) only the listed images
    are used; ``ann_file=''`` uses every image of ``img_path``. The
    metainfo is Cityscapes' 19 classes, the label space of the task.

    Args:
        img_suffix (str): Defaults to ``'.jpg'``.
        data_prefix (dict, optional): Defaults to
            ``dict(img_path='images/100k/train')``.
        **kwargs: Other ``BaseSegDataset`` arguments.
    """
    DATASET_NAME = 'BDD100K night'
    LAYOUT = BDD100K_LAYOUT
    CONVERTER = osp.join('tools', 'dataset_converters', 'bdd100k_night.py')
    DEFAULT_DATA_PREFIX = dict(img_path='images/100k/train')

    def __init__(self,
                 img_suffix: str = '.jpg',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if data_prefix is not None and data_prefix.get('seg_map_path'):
            raise ValueError(
                'BDD100KNightDataset is unlabelled: data_prefix must not set '
                f"'seg_map_path' (got {data_prefix})")
        super().__init__(
            img_suffix=img_suffix, data_prefix=data_prefix, **kwargs)
