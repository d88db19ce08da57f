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
"""
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmseg.datasets import BaseSegDataset, CityscapesDataset
from PIL import Image

from mmda.registry import DATASETS

#: Bump when the generated data change; stored in the marker file.
TOY_VERSION = 'toy_v1'
MARKER_NAME = '.mmda_toy_complete.json'
TOY_H, TOY_W = 64, 128
DOMAINS = ('source', 'target', 'night')
SPLITS = ('train', 'val')
DEFAULT_NUM_IMAGES = {'train': 400, 'val': 100}

# Cityscapes train ids used by the toy scenes.
ROAD, SIDEWALK, BUILDING, POLE, SIGN = 0, 1, 2, 5, 7
VEGETATION, TERRAIN, SKY, PERSON, CAR = 8, 9, 10, 11, 13
TOY_CLASSES = (ROAD, SIDEWALK, BUILDING, POLE, SIGN, VEGETATION, TERRAIN, SKY,
               PERSON, CAR)

# Base (source) colours per train id, RGB. Unused ids stay black.
_BASE_COLOURS = np.zeros((256, 3), np.float32)
_BASE_COLOURS[ROAD] = (100, 96, 104)
_BASE_COLOURS[SIDEWALK] = (176, 150, 164)
_BASE_COLOURS[BUILDING] = (132, 112, 92)
_BASE_COLOURS[POLE] = (70, 70, 76)
_BASE_COLOURS[SIGN] = (224, 196, 40)
_BASE_COLOURS[VEGETATION] = (64, 132, 52)
_BASE_COLOURS[TERRAIN] = (150, 176, 96)
_BASE_COLOURS[SKY] = (124, 176, 232)
_BASE_COLOURS[PERSON] = (204, 68, 64)
_BASE_COLOURS[CAR] = (48, 68, 168)

# Texture amplitude (relative multiplicative noise) per class, "real" domains.
_TEXTURE = np.zeros(256, np.float32)
_TEXTURE[[ROAD, SIDEWALK, BUILDING, POLE, SIGN, VEGETATION, TERRAIN, SKY,
          PERSON, CAR]] = (0.16, 0.18, 0.22, 0.10, 0.08, 0.35, 0.28, 0.05,
                           0.20, 0.14)

# Rendering parameters of the shifted domains (see module docstring): the
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
# Layout
# ---------------------------------------------------------------------------
class ToyScene:
    """The geometry of one scene.

    Attributes:
        label (np.ndarray): (H, W) uint8 train ids.
        inst (np.ndarray): (H, W) int32 index into ``inst_jitter``.
        inst_jitter (np.ndarray): (N, 3) float32 per-object colour jitter.
        windows (np.ndarray): (H, W) bool, window pixels of buildings.
        lit (np.ndarray): (H, W) bool, windows lit at night.
        lights (np.ndarray): (K, 6) float32 rows (y, x, radius, r, g, b) of the
            light sources visible at night.
    """

    def __init__(self, label, inst, inst_jitter, windows, lit, lights):
        self.label = label
        self.inst = inst
        self.inst_jitter = inst_jitter
        self.windows = windows
        self.lit = lit
        self.lights = lights


_STREET_LIGHT = (255.0, 214.0, 150.0)
_HEAD_LIGHT = (255.0, 250.0, 225.0)
_TAIL_LIGHT = (255.0, 60.0, 40.0)


def sample_scene(rng: np.random.Generator,
                 height: int = TOY_H,
                 width: int = TOY_W) -> ToyScene:
    """Sample one street-scene layout (vectorised per object).

    The scene is a camera looking along a street: a horizon, a road
    converging to a vanishing point, sidewalks (and sometimes terrain) on both
    sides, buildings with windows, trees, poles (some carrying traffic signs
    or street lights), people on the sidewalks and cars on the road; objects
    are drawn far to near, with sizes growing towards the bottom of the image
    (ground-plane perspective).

    Args:
        rng (np.random.Generator): the random source; the same state gives
            the same scene.
        height (int): image height. Defaults to 64.
        width (int): image width. Defaults to 128.

    Returns:
        ToyScene: the layout.
    """
    H, W = height, width
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    label = np.full((H, W), SKY, np.uint8)
    inst = np.zeros((H, W), np.int32)
    jitters = [rng.normal(0, 6, 3)]  # instance 0: sky / stuff
    windows = np.zeros((H, W), bool)
    lit = np.zeros((H, W), bool)
    lights: List[Tuple[float, ...]] = []

    def paint(mask, cls, jitter_std=12.0):
        jitters.append(rng.normal(0, jitter_std, 3))
        label[mask] = cls
        inst[mask] = len(jitters) - 1
        windows[mask] = False
        lit[mask] = False

    horizon = rng.uniform(0.36, 0.52) * H
    vx = rng.uniform(0.3, 0.7) * W
    depth = np.clip((yy - horizon) / (H - horizon), 0, None)  # 0 far, 1 near

    # --- buildings along the street (x-blocks with random heights) -------
    x = -rng.uniform(0, 10)
    while x < W:
        bw = rng.uniform(10, 34)
        if rng.random() > 0.15:  # gaps show the sky
            dist = abs((x + bw / 2) - vx) / W  # taller near the image sides
            bh = (0.35 + 1.4 * dist) * rng.uniform(0.5, 1.0) * horizon
            top = max(1.0, horizon - bh)
            bottom = horizon + 0.08 * H * dist
            m = (xx >= x) & (xx < x + bw) & (yy >= top) & (yy < bottom)
            paint(m, BUILDING)
            # windows: a regular grid inside the facade
            period_x = rng.uniform(4, 7)
            period_y = rng.uniform(4, 7)
            fx = ((xx - x) % period_x) < period_x * 0.5
            fy = ((yy - top) % period_y) < period_y * 0.5
            wmask = m & fx & fy & (yy > top + 1.5) & (yy < bottom - 2) & \
                (xx > x + 1.5) & (xx < x + bw - 1.5)
            windows |= wmask
            # a random ~40% of window cells are lit at night (per cell)
            cell = (np.floor((xx - x) / period_x) * 131 +
                    np.floor((yy - top) / period_y)).astype(np.int64)
            cell_lit = rng.random(4096) < 0.4
            lit |= wmask & cell_lit[cell % 4096]
        x += bw

    # --- ground: terrain / sidewalk / road --------------------------------
    ground = yy >= horizon
    t = depth
    half_road_l = rng.uniform(0.25, 0.55) * W
    half_road_r = rng.uniform(0.25, 0.55) * W
    walk_l = rng.uniform(0.12, 0.35) * W
    walk_r = rng.uniform(0.12, 0.35) * W
    road_l = vx - t * half_road_l
    road_r = vx + t * half_road_r
    side_l = road_l - t * walk_l
    side_r = road_r + t * walk_r
    if rng.random() < 0.6:  # terrain beyond the sidewalks
        paint(ground, TERRAIN)
        paint(ground & (xx >= side_l) & (xx <= side_r), SIDEWALK)
    else:
        paint(ground, SIDEWALK)
    paint(ground & (xx >= road_l) & (xx <= road_r), ROAD)
    road_mask = label == ROAD
    # lane markings are part of the road class (lighter jitter instance)
    lane = road_mask & (np.abs(xx - vx) < 0.6 + 1.2 * t) & \
        (np.floor(np.sqrt(np.clip(yy - horizon, 0, None)) * 3) % 2 == 0) & \
        (t > 0.15)
    jitters.append(np.array([60.0, 60.0, 50.0]))
    inst[lane] = len(jitters) - 1

    # --- objects, drawn far to near ---------------------------------------
    objects = []  # (base_y, kind, params)
    for _ in range(rng.integers(1, 5)):  # trees
        side = rng.choice([-1, 1])
        by = horizon + rng.uniform(0.02, 0.6) * (H - horizon)
        objects.append((by, 'tree', side))
    for _ in range(rng.integers(1, 5)):  # poles
        side = rng.choice([-1, 1])
        by = horizon + rng.uniform(0.05, 0.9) * (H - horizon)
        objects.append((by, 'pole', side))
    for _ in range(rng.integers(0, 5)):  # people
        side = rng.choice([-1, 1])
        by = horizon + rng.uniform(0.1, 1.0) * (H - horizon)
        objects.append((by, 'person', side))
    for _ in range(rng.integers(0, 5)):  # cars
        by = horizon + rng.uniform(0.1, 1.15) * (H - horizon)
        objects.append((by, 'car', 0))
    objects.sort(key=lambda o: o[0])

    for by, kind, side in objects:
        tb = (by - horizon) / (H - horizon)  # depth of the base point
        scale = 0.15 + tb  # apparent size
        if side < 0:
            lo, hi = vx - tb * (half_road_l + walk_l), vx - tb * half_road_l
        else:
            lo, hi = vx + tb * half_road_r, vx + tb * (half_road_r + walk_r)
        if kind == 'tree':
            cx = rng.uniform(lo - 4, hi)
            if side > 0:
                cx = rng.uniform(lo, hi + 4)
            r = rng.uniform(6, 11) * scale + 2
            cy = by - rng.uniform(1.6, 2.6) * r
            canopy = ((yy - cy) ** 2 / (1.1 * r) ** 2 +
                      (xx - cx) ** 2 / r ** 2) <= 1.0
            trunk = (np.abs(xx - cx) <= max(0.6, 0.12 * r)) & (yy >= cy) & \
                (yy <= by)
            paint(canopy | trunk, VEGETATION, 18.0)
        elif kind == 'pole':
            px = rng.uniform(lo, hi)
            ph = rng.uniform(28, 42) * scale + 4
            pw = max(0.5, 1.3 * scale)
            top = by - ph
            paint((np.abs(xx - px) <= pw) & (yy >= top) & (yy <= by), POLE, 8.0)
            if rng.random() < 0.5:  # traffic sign
                s = rng.uniform(4, 7) * scale + 1.5
                sy = top + rng.uniform(0.0, 0.3) * ph
                if rng.random() < 0.5:
                    m = (np.abs(xx - px) <= s / 2) & (np.abs(yy - sy) <= s / 2)
                else:
                    m = ((xx - px) ** 2 + (yy - sy) ** 2) <= (s / 2) ** 2
                paint(m, SIGN, 15.0)
            else:  # street light on top
                lights.append((top, px, 3.0 + 6.0 * scale) + _STREET_LIGHT)
        elif kind == 'person':
            px = rng.uniform(lo, hi)
            ph = rng.uniform(14, 20) * scale + 2
            pw = ph * rng.uniform(0.22, 0.3)
            body = ((yy - (by - 0.45 * ph)) ** 2 / (0.45 * ph) ** 2 +
                    (xx - px) ** 2 / (pw / 2) ** 2) <= 1.0
            head = ((yy - (by - 0.9 * ph)) ** 2 + (xx - px) ** 2) <= \
                (0.11 * ph + 0.3) ** 2
            paint(body | head, PERSON, 25.0)
        else:  # car on the road, facing either way
            lo, hi = vx - tb * half_road_l, vx + tb * half_road_r
            cw = rng.uniform(18, 26) * scale + 2
            cx = rng.uniform(lo + cw / 3, hi - cw / 3) if hi - lo > cw \
                else (lo + hi) / 2
            ch = cw * rng.uniform(0.4, 0.5)
            bodym = (np.abs(xx - cx) <= cw / 2) & (yy <= by) & \
                (yy >= by - 0.6 * ch)
            cabin = (np.abs(xx - cx) <= cw / 2 - 0.2 * cw *
                     np.clip((by - 0.6 * ch - yy) / (0.4 * ch), 0, 1)) & \
                (yy < by - 0.6 * ch) & (yy >= by - ch)
            paint(bodym | cabin, CAR, 40.0)
            ly, r = by - 0.35 * ch, 1.0 + 2.5 * scale
            colour = _HEAD_LIGHT if rng.random() < 0.5 else _TAIL_LIGHT
            for lx in (cx - 0.38 * cw, cx + 0.38 * cw):
                lights.append((ly, lx, r) + colour)

    lights_arr = np.asarray(lights, np.float32).reshape(-1, 6)
    return ToyScene(label, inst, np.asarray(jitters, np.float32), windows,
                    lit & windows & (label == BUILDING), lights_arr)


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
