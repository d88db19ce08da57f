"""Embedded toy benchmark: tiny street scenes in three domains.

A deterministic, seeded generator of 64x128 (HxW) street-like scenes whose
labels are Cityscapes *train ids* (road, sidewalk, building, pole, traffic
sign, vegetation, terrain, sky, person, car; every other id and 255 unused).
All three domains draw their scene *layouts* from the same distribution (but
with different seeds, so no image is shared) and differ only in rendering:

* ``source`` - flat-shaded "synthetic day" (the GTA5 / SYNTHIA role): one
  colour per object, no texture, no sensor noise.
* ``target`` - textured "real day" (the Cityscapes role): a fixed per-class
  colour shift, multi-scale texture, global illumination jitter, slight blur
  and sensor noise.
* ``night`` - "real night" (the Dark Zurich / Nighttime Driving role): the
  textured day rendering (without the per-class shift) darkened, tinted and
  noisy, with glows of street lights, car head/tail lights and lit windows.

Files: ``{root}/{domain}/images/{split}/{idx:05d}.png`` (RGB) and
``{root}/{domain}/labels/{split}/{idx:05d}.png`` (uint8 train ids).

The strength of the shifts is calibrated as described in
docs/methods.md#calibrating-the-toy-benchmark: with ``configs/source_only/toy_*.py``
(deeplabv2_tiny, 600 iterations), measured by
``tools/benchmarks/toy_source_only.py``:

================  ====================  ===========  =====
task              source-only mIoU      oracle mIoU  ratio
================  ====================  ===========  =====
source -> target  34.7 ± 1.0 (3 seeds)  63.8 ± 0.7   0.54
source -> night   35.5 ± 2.9 (2 seeds)  64.0 ± 0.0   0.55
================  ====================  ===========  =====

:class:`ToySegDataset` generates the whole benchmark on first use into a cache
folder (``$MMDA_DATA_ROOT/toy`` if that variable is set, else
``~/.cache/mmda/toy_v1``), atomically and only once.

Variants: the rendering knobs (scene ``seed``, colour-shift ``shift_seed``
and ``shift_strength``, ``night_darkness`` / ``night_noise_std`` /
``night_sky_gain`` / ``night_tint``) are arguments of :class:`ToySegDataset`
(see :func:`render_params`); their defaults are the calibrated toy above,
bit for bit. A variant is recorded in the marker file and, without an
explicit ``data_root``, cached in its own sibling folder. The standard
sweep of variants is ``tools/benchmarks/harness.py`` (``--variants`` of the
toy benchmarks), documented in ``docs/toy_variants.md``.

Modules: :mod:`mmda.datasets.toy_scene` (classes and layouts),
:mod:`mmda.datasets.toy_render` (the rendering knobs, whose defaults are its
module constants read at call time, and the three domain renderers) and this
one (writing the benchmark to its cache folder once, and the dataset).
"""
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Optional, Sequence

from mmseg.datasets import BaseSegDataset, CityscapesDataset
from PIL import Image

from mmda.registry import DATASETS
from .toy_render import (RENDER_KEYS, TARGET_SHIFT_SEED,  # noqa: F401
                         default_render, generate_sample, render_params,
                         render_scene)
from .toy_scene import (BUILDING, CAR, DOMAINS, PERSON, POLE,  # noqa: F401
                        ROAD, SIDEWALK, SIGN, SKY, SPLITS, TERRAIN,
                        TOY_CLASSES, TOY_H, TOY_W, VEGETATION, ToyScene,
                        sample_scene)

#: Bump when the generated data change; stored in the marker file.
TOY_VERSION = 'toy_v1'
MARKER_NAME = '.mmda_toy_complete.json'
DEFAULT_NUM_IMAGES = {'train': 400, 'val': 100}


# ---------------------------------------------------------------------------
# Writing the benchmark to disk (atomically, once)
# ---------------------------------------------------------------------------
def _variant_tag(seed: int, render: dict) -> str:
    """'' for the calibrated toy (seed 0, default knobs), else a short
    stable tag of the seed and the knobs (the default folder of a variant)."""
    if int(seed) == 0 and render == default_render():
        return ''
    key = json.dumps(dict(seed=int(seed), **{k: (list(v) if isinstance(
        v, tuple) else v) for k, v in render.items()}), sort_keys=True)
    return '-' + hashlib.sha1(key.encode()).hexdigest()[:10]


def default_toy_root(seed: int = 0, render: Optional[dict] = None) -> str:
    """``$MMDA_DATA_ROOT/toy`` if ``MMDA_DATA_ROOT`` is set, else
    ``~/.cache/mmda/toy_v1``; a variant (another seed or rendering knobs)
    gets a sibling folder with a ``-<hash>`` suffix of its knobs, so the
    calibrated copy is never touched by a variant."""
    tag = _variant_tag(seed, render_params(render))
    data_root = os.environ.get('MMDA_DATA_ROOT')
    if data_root:
        return osp.join(osp.expanduser(data_root), 'toy' + tag)
    return osp.join(osp.expanduser('~'), '.cache', 'mmda', TOY_VERSION + tag)


def _marker_content(seed: int, num_images: Dict[str, int],
                    render: Optional[dict] = None) -> dict:
    # the rendering knobs are recorded too, so that a copy made with other
    # values (a variant, or a re-calibration) is detected instead of reused
    p = render_params(render)
    params = dict(
        target_colour_shift=float(p['shift_strength']),
        night_darkness=float(p['night_darkness']),
        night_noise_std=float(p['night_noise_std']),
        night_sky_gain=float(p['night_sky_gain']),
        night_tint=[float(v) for v in p['night_tint']])
    if p['shift_seed'] != TARGET_SHIFT_SEED:
        # only recorded when not the default, so that the markers of the
        # calibrated toy are the same as those of earlier versions
        params['target_shift_seed'] = int(p['shift_seed'])
    return dict(version=TOY_VERSION, seed=int(seed), height=TOY_H,
                width=TOY_W, domains=list(DOMAINS),
                num_images={k: int(num_images[k]) for k in SPLITS},
                params=params)


def read_toy_marker(root: str) -> Optional[dict]:
    """The marker of a complete copy in ``root``, or None if there is none.

    Raises:
        ValueError: the marker exists but is not valid JSON.
    """
    path = osp.join(root, MARKER_NAME)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f'Toy benchmark marker {path} is unreadable ({e}); '
                         'delete the folder to regenerate it.') from e


def _write_benchmark(root: str, seed: int, num_images: Dict[str, int],
                     domains: Sequence[str],
                     render: Optional[dict] = None) -> None:
    """Write images, labels and (last) the marker into ``root``."""
    for domain in domains:
        for split in SPLITS:
            img_dir = osp.join(root, domain, 'images', split)
            lbl_dir = osp.join(root, domain, 'labels', split)
            os.makedirs(img_dir, exist_ok=True)
            os.makedirs(lbl_dir, exist_ok=True)
            for idx in range(num_images[split]):
                img, label = generate_sample(domain, split, idx, seed,
                                             render)
                name = f'{idx:05d}.png'
                Image.fromarray(img).save(osp.join(img_dir, name))
                Image.fromarray(label).save(osp.join(lbl_dir, name))
    with open(osp.join(root, MARKER_NAME), 'w') as f:
        json.dump(_marker_content(seed, num_images, render), f, indent=1)


def _check_marker(root: str, marker: dict, seed: int,
                  num_images: Dict[str, int],
                  render: Optional[dict] = None) -> None:
    expected = _marker_content(seed, num_images, render)
    if marker != expected:
        raise ValueError(
            f'Toy benchmark in {root} was generated with {marker} (file '
            f'{osp.join(root, MARKER_NAME)}), but {expected} was requested. '
            'Delete that folder or choose another data_root.')


def generate_toy_benchmark(root: Optional[str] = None,
                           seed: int = 0,
                           num_train: int = DEFAULT_NUM_IMAGES['train'],
                           num_val: int = DEFAULT_NUM_IMAGES['val'],
                           render: Optional[dict] = None) -> str:
    """Generate the toy benchmark into ``root`` unless a complete copy exists.

    The data are written into a temporary sibling folder which is then
    renamed to ``root``; a marker file (written last) records the generator
    version and parameters. A complete copy is never regenerated. When
    several processes (e.g. DDP ranks) start together, an advisory file lock
    makes the others wait for the first; without ``fcntl`` (or on file
    systems that ignore locks) every process generates its own identical copy
    and the losers of the rename race discard theirs.

    Args:
        root (str, optional): destination folder (may exist if empty).
            Defaults to :func:`default_toy_root` (of this seed and knobs).
        seed (int): benchmark (scene) seed. Defaults to 0.
        num_train (int): images per domain in the train split. Defaults to 400.
        num_val (int): images per domain in the val split. Defaults to 100.
        render (dict, optional): rendering knobs (:func:`render_params`);
            None: the calibrated toy.

    Returns:
        str: the absolute path of the benchmark root.
    """
    render = render_params(render)
    root = osp.abspath(osp.expanduser(root or default_toy_root(seed, render)))
    num_images = dict(train=int(num_train), val=int(num_val))
    if min(num_images.values()) < 1:
        raise ValueError(f'num_train and num_val must be >= 1, got '
                         f'{num_images}')
    marker = read_toy_marker(root)
    if marker is not None:
        _check_marker(root, marker, seed, num_images, render)
        return root
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    lock_path = osp.join(parent, f'.{osp.basename(root)}.lock')
    with _FileLock(lock_path):
        marker = read_toy_marker(root)  # another process may have finished
        if marker is not None:
            _check_marker(root, marker, seed, num_images, render)
            return root
        if osp.isdir(root) and os.listdir(root):
            raise FileExistsError(
                f'Toy benchmark folder {root} exists, is not empty and has no '
                f'marker {MARKER_NAME}: it is not a (complete) toy benchmark. '
                'Delete it or choose another data_root.')
        tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.tmp-',
                               dir=parent)
        try:
            os.chmod(tmp, 0o755)  # mkdtemp makes it private
            _write_benchmark(tmp, seed, num_images, DOMAINS, render)
            try:
                os.rename(tmp, root)  # atomic; replaces an empty `root`
            except OSError:
                # lost a race against a process that did not see our lock
                if read_toy_marker(root) is None:
                    raise
        finally:
            if osp.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
    marker = read_toy_marker(root)
    _check_marker(root, marker, seed, num_images, render)
    return root


class _FileLock:
    """Advisory exclusive lock on a file (``fcntl``); a no-op without it."""

    def __init__(self, path: str):
        self.path = path
        self._f = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        try:
            self._f = open(self.path, 'a')
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX)
        except OSError:  # read-only dir or no lock support: rename race only
            if self._f is not None:
                self._f.close()
            self._f = None
        return self

    def __exit__(self, *exc):
        if self._f is not None:
            import fcntl
            fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
            self._f.close()
            self._f = None
        return False


# ---------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------
@DATASETS.register_module()
class ToySegDataset(BaseSegDataset):
    """The embedded toy benchmark as an mmseg dataset.

    Cityscapes' 19-class meta information (labels are train ids, 255 =
    ignore); the data are generated on first use (see
    :func:`generate_toy_benchmark`).

    Args:
        domain (str): ``'source'`` (flat synthetic day), ``'target'``
            (textured real day) or ``'night'``. Defaults to ``'source'``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        data_root (str, optional): benchmark root; generated there if missing.
            Defaults to :func:`default_toy_root`.
        seed (int): benchmark (scene) seed used when generating: the
            layouts and the texture/noise streams. Defaults to 0.
        num_train (int): train images per domain when generating.
            Defaults to 400.
        num_val (int): val images per domain when generating. Defaults to 100.
        shift_seed, shift_strength, night_darkness, night_noise_std,
        night_sky_gain, night_tint: the rendering knobs of a variant of the
            toy (see :func:`render_params`); None (the default) keeps the
            calibrated value. They are recorded in the marker file, and a
            variant without ``data_root`` gets its own cache folder
            (:func:`default_toy_root`).
        **kwargs: other arguments of :class:`mmseg.datasets.BaseSegDataset`
            (``pipeline``, ``test_mode``, ``indices``, ...). ``data_prefix``,
            ``img_suffix`` and ``seg_map_suffix`` are fixed by the layout.
    """
    METAINFO = copy.deepcopy(CityscapesDataset.METAINFO)

    def __init__(self,
                 domain: str = 'source',
                 split: str = 'train',
                 data_root: Optional[str] = None,
                 seed: int = 0,
                 num_train: int = DEFAULT_NUM_IMAGES['train'],
                 num_val: int = DEFAULT_NUM_IMAGES['val'],
                 shift_seed: Optional[int] = None,
                 shift_strength: Optional[float] = None,
                 night_darkness: Optional[float] = None,
                 night_noise_std: Optional[float] = None,
                 night_sky_gain: Optional[float] = None,
                 night_tint: Optional[Sequence[float]] = None,
                 **kwargs) -> None:
        if domain not in DOMAINS:
            raise ValueError(f'ToySegDataset: domain must be one of '
                             f'{DOMAINS}, got {domain!r}')
        if split not in SPLITS:
            raise ValueError(f'ToySegDataset: split must be one of {SPLITS}, '
                             f'got {split!r}')
        for key in ('data_prefix', 'img_suffix', 'seg_map_suffix'):
            if key in kwargs:
                raise ValueError(f'ToySegDataset: {key!r} is fixed by the toy '
                                 'layout and cannot be set')
        try:
            render = render_params(
                shift_seed=shift_seed, shift_strength=shift_strength,
                night_darkness=night_darkness,
                night_noise_std=night_noise_std,
                night_sky_gain=night_sky_gain, night_tint=night_tint)
        except ValueError as e:
            raise ValueError(f'ToySegDataset: {e}') from None
        self.domain = domain
        self.split = split
        self.render = render
        root = generate_toy_benchmark(data_root, seed, num_train, num_val,
                                      render)
        super().__init__(
            data_root=root,
            data_prefix=dict(img_path=f'{domain}/images/{split}',
                             seg_map_path=f'{domain}/labels/{split}'),
            img_suffix='.png',
            seg_map_suffix='.png',
            **kwargs)
