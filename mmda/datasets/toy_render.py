"""Rendering of the embedded toy benchmark (:mod:`mmda.datasets.toy`): the
rendering knobs of the calibrated toy and its variants
(:func:`render_params`), the three domain renderers and
:func:`generate_sample`, one deterministic (image, label) pair.
"""
from typing import Dict, Optional, Tuple

import numpy as np

from .toy_scene import (_BASE_COLOURS, _TEXTURE, DOMAINS, SKY, SPLITS,
                        ToyScene, sample_scene)

# Rendering parameters of the shifted domains (see mmda/datasets/toy.py): the
# calibration knobs of docs/methods.md#calibrating-the-toy-benchmark (a 0.5
# colour shift + texture gave ~48% of the oracle in its prototype). Measured
# with configs/source_only/toy_*.py (deeplabv2_tiny, 600 iterations, seed 0),
# source-only night mIoU against an oracle of ~64:
#   darkness 0.82, sky gain 0.35 -> 20.2 (sky not recognised at all)
#   darkness 0.82, sky gain 0.6  -> 25.4
#   darkness 0.70, sky gain 0.6, neutral tint -> 20.3
#   darkness 0.90, sky gain 0.6  -> 33.5 (kept: ~half of the oracle)
# i.e. the night must stay mild (docs/methods.md#calibrating-the-toy-benchmark:
# a milder darkness gives the mean teacher a start); it is recognisably night through the dark sky,
# the tint, the noise and the lights.
TARGET_COLOUR_SHIFT = 0.5  # fraction of a per-class RGB offset of norm ~110
NIGHT_DARKNESS = 0.9  # global gain of the night domain before lights
NIGHT_NOISE_STD = 5.0  # sensor noise (grey levels) of the night domain
NIGHT_SKY_GAIN = 0.6  # extra gain of the (unlit) night sky
NIGHT_TINT = (0.85, 0.9, 1.15)  # RGB gains (bluish moonlight)
TARGET_SHIFT_SEED = 1234  # seed of the per-class colour-shift directions

#: The rendering knobs a variant of the toy may set (dataset arguments of
#: :class:`ToySegDataset`, recorded in the marker). Their defaults are the
#: module constants above, read at call time: the calibrated toy.
RENDER_KEYS = ('shift_seed', 'shift_strength', 'night_darkness',
               'night_noise_std', 'night_sky_gain', 'night_tint')


def default_render() -> Dict[str, object]:
    """The rendering knobs of the calibrated toy (the module constants)."""
    return dict(shift_seed=int(TARGET_SHIFT_SEED),
                shift_strength=float(TARGET_COLOUR_SHIFT),
                night_darkness=float(NIGHT_DARKNESS),
                night_noise_std=float(NIGHT_NOISE_STD),
                night_sky_gain=float(NIGHT_SKY_GAIN),
                night_tint=tuple(float(v) for v in NIGHT_TINT))


def render_params(render: Optional[dict] = None, **knobs) -> Dict[str, object]:
    """Validated rendering knobs: the calibrated defaults updated with
    ``render`` and ``knobs`` (``None`` values keep the default).

    Knobs (see the module docstring for the domains):

    * ``shift_seed`` (int): seed of the per-class colour-shift directions of
      the target domain;
    * ``shift_strength`` (float >= 0): fraction of the per-class RGB offset
      (norm ~110 grey levels) added in the target domain;
    * ``night_darkness`` (float > 0): global gain of the night domain;
    * ``night_noise_std`` (float >= 0): night sensor noise (grey levels);
    * ``night_sky_gain`` (float >= 0): extra gain of the night sky;
    * ``night_tint`` (3 floats > 0): RGB gains of the night domain.

    Raises:
        ValueError: an unknown knob or a value out of range (the message
            names the knob and what was expected).
    """
    out = default_render()
    given = dict(render or {})
    given.update(knobs)
    for key, value in given.items():
        if key not in RENDER_KEYS:
            raise ValueError(f'toy rendering: unknown knob {key!r}; expected '
                             f'one of {RENDER_KEYS}')
        if value is None:
            continue
        try:
            if key == 'shift_seed':
                if isinstance(value, bool) or int(value) != value:
                    raise TypeError
                out[key] = int(value)
            elif key == 'night_tint':
                tint = tuple(float(v) for v in value)
                if len(tint) != 3 or min(tint) <= 0:
                    raise TypeError
                out[key] = tint
            else:
                v = float(value)
                if not np.isfinite(v) or v < 0 or (
                        key == 'night_darkness' and v == 0):
                    raise TypeError
                out[key] = v
        except (TypeError, ValueError):
            expected = dict(
                shift_seed='an integer',
                night_tint='three positive RGB gains',
                night_darkness='a positive number').get(
                    key, 'a non-negative number')
            raise ValueError(f'toy rendering: {key} must be {expected}, got '
                             f'{value!r}') from None
    return out


def _class_shift_table(seed: int = TARGET_SHIFT_SEED) -> np.ndarray:
    """A fixed per-class RGB offset (same for every target image).

    Offsets have norm ~110 grey levels and a random direction per class; the
    target domain adds ``shift_strength`` (default ``TARGET_COLOUR_SHIFT``)
    times this vector.
    """
    rng = np.random.default_rng(seed)
    direc = rng.normal(size=(256, 3))
    direc /= np.linalg.norm(direc, axis=1, keepdims=True)
    return (direc * 110.0).astype(np.float32)


_CLASS_SHIFT = _class_shift_table()
_SHIFT_TABLES = {TARGET_SHIFT_SEED: _CLASS_SHIFT}


def _shift_table(seed: int) -> np.ndarray:
    if seed not in _SHIFT_TABLES:
        _SHIFT_TABLES[seed] = _class_shift_table(seed)
    return _SHIFT_TABLES[seed]


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
def _upsample_bilinear(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear (align-corners) upsampling of a 2-D grid with numpy."""
    h, w = grid.shape
    ys = np.linspace(0, h - 1, height, dtype=np.float32)
    xs = np.linspace(0, w - 1, width, dtype=np.float32)
    y0 = np.minimum(ys.astype(np.int64), h - 2)
    x0 = np.minimum(xs.astype(np.int64), w - 2)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    return (g00 * (1 - fy) * (1 - fx) + g01 * (1 - fy) * fx +
            g10 * fy * (1 - fx) + g11 * fy * fx)


def _value_noise(rng: np.random.Generator, height: int,
                 width: int) -> np.ndarray:
    """Multi-scale value noise in roughly [-1, 1] (3 octaves + pixel grain)."""
    out = np.zeros((height, width), np.float32)
    for cells, amp in ((4, 0.45), (12, 0.35), (32, 0.25)):
        grid = rng.uniform(-1, 1, (cells // 2 + 2, cells + 2)).astype(np.float32)
        out += amp * _upsample_bilinear(grid, height, width)
    out += 0.3 * rng.uniform(-1, 1, (height, width)).astype(np.float32)
    return out


def _box_blur3(img: np.ndarray) -> np.ndarray:
    """3x3 box blur of an (H, W, C) float image with edge padding."""
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode='edge')
    H, W = img.shape[:2]
    acc = np.zeros_like(img)
    for dy in range(3):
        for dx in range(3):
            acc += p[dy:dy + H, dx:dx + W]
    return acc / 9.0


def _flat(scene: ToyScene) -> np.ndarray:
    """Flat per-object colours with dark windows and a sky gradient."""
    H, W = scene.label.shape
    img = _BASE_COLOURS[scene.label] + scene.inst_jitter[scene.inst]
    img[scene.windows] *= 0.6
    sky = scene.label == SKY
    ramp = np.linspace(-25, 15, H, dtype=np.float32)[:, None, None]
    img += np.where(sky[..., None], ramp, 0.0)
    return img


def _textured(scene: ToyScene, rng: np.random.Generator,
              colour_shift: float,
              shift_seed: int = TARGET_SHIFT_SEED) -> np.ndarray:
    """"Real" rendering: per-class colour shift, texture, illumination."""
    H, W = scene.label.shape
    img = _BASE_COLOURS[scene.label] + scene.inst_jitter[scene.inst]
    img += colour_shift * _shift_table(shift_seed)[scene.label]
    img[scene.windows] *= 0.55
    sky = scene.label == SKY
    ramp = np.linspace(-25, 15, H, dtype=np.float32)[:, None, None]
    img += np.where(sky[..., None], ramp, 0.0)
    # texture: per-class amplitude of a shared multi-scale noise field, with
    # a small chromatic part
    noise = _value_noise(rng, H, W)
    chroma = 0.3 * _value_noise(rng, H, W)[..., None] * \
        rng.uniform(-1, 1, 3).astype(np.float32)
    amp = _TEXTURE[scene.label][..., None]
    img *= 1.0 + amp * (noise[..., None] + chroma)
    # illumination: global gain and white balance, soft vertical shading
    gain = rng.uniform(0.85, 1.15) * rng.uniform(0.93, 1.07, 3)
    shade = 1.0 + 0.08 * np.linspace(-1, 1, H, dtype=np.float32)[:, None, None]
    img = img * gain.astype(np.float32) * shade
    img = _box_blur3(img) * 0.5 + img * 0.5
    img += rng.normal(0, 2.5, img.shape).astype(np.float32)
    return img


def _night(scene: ToyScene, rng: np.random.Generator,
           render: Optional[dict] = None) -> np.ndarray:
    """Night rendering: textured day (no class shift), dark, tinted, noisy,
    with glows of street lights, car lights and lit windows."""
    p = render if render is not None else default_render()
    H, W = scene.label.shape
    img = _textured(scene, rng, colour_shift=0.0)
    tint = np.asarray(p['night_tint'], np.float32) * \
        rng.uniform(0.92, 1.08, 3).astype(np.float32)
    img = img * p['night_darkness'] * rng.uniform(0.85, 1.15) * tint
    sky = scene.label == SKY
    img[sky] = img[sky] * p['night_sky_gain'] + \
        np.array([8, 10, 24], np.float32)
    # lit windows
    warm = np.array([235, 190, 110], np.float32) * rng.uniform(0.7, 1.0)
    img[scene.lit] = img[scene.lit] * 0.3 + warm
    # glows: additive Gaussian blobs (vectorised over lights)
    if len(scene.lights):
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        L = scene.lights
        d2 = (yy[None] - L[:, 0, None, None]) ** 2 + \
            (xx[None] - L[:, 1, None, None]) ** 2
        fall = np.exp(-d2 / (2 * L[:, 2, None, None] ** 2))  # (K, H, W)
        core = np.exp(-d2 / (2 * (0.3 * L[:, 2, None, None]) ** 2))
        inten = 0.55 * fall + 0.6 * core
        img += np.einsum('khw,kc->hwc', inten, L[:, 3:6])
    img += rng.normal(0, p['night_noise_std'], img.shape).astype(np.float32)
    return img


def render_scene(scene: ToyScene, domain: str,
                 rng: np.random.Generator,
                 render: Optional[dict] = None) -> np.ndarray:
    """Render a layout in one domain.

    Args:
        scene (ToyScene): the layout from :func:`sample_scene`.
        domain (str): ``'source'``, ``'target'`` or ``'night'``.
        rng (np.random.Generator): random source of textures and noise.
        render (dict, optional): rendering knobs (:func:`render_params`);
            None: the calibrated toy.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    p = render_params(render)
    if domain == 'source':
        img = _flat(scene)
    elif domain == 'target':
        img = _textured(scene, rng, p['shift_strength'], p['shift_seed'])
    elif domain == 'night':
        img = _night(scene, rng, p)
    else:
        raise ValueError(f'toy domain must be one of {DOMAINS}, got '
                         f'{domain!r}')
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _image_rng(seed: int, domain: str, split: str, idx: int
               ) -> np.random.Generator:
    """Independent stream per (seed, domain, split, index): every domain gets
    different scenes from the same layout distribution."""
    key = [int(seed), DOMAINS.index(domain), SPLITS.index(split), int(idx)]
    return np.random.default_rng(np.random.SeedSequence(key))


def generate_sample(domain: str, split: str, idx: int, seed: int = 0,
                    render: Optional[dict] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Generate one (image, label) pair deterministically.

    Args:
        domain (str): ``'source'``, ``'target'`` or ``'night'``.
        split (str): ``'train'`` or ``'val'``.
        idx (int): image index.
        seed (int): benchmark (scene) seed: the layouts and the per-image
            texture/noise streams. Defaults to 0.
        render (dict, optional): rendering knobs (:func:`render_params`);
            None: the calibrated toy.

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W, 3) uint8 RGB image and (H, W)
        uint8 label of train ids.
    """
    if domain not in DOMAINS:
        raise ValueError(f'toy domain must be one of {DOMAINS}, got '
                         f'{domain!r}')
    if split not in SPLITS:
        raise ValueError(f'toy split must be one of {SPLITS}, got {split!r}')
    rng = _image_rng(seed, domain, split, idx)
    scene = sample_scene(rng)
    return render_scene(scene, domain, rng, render), scene.label

