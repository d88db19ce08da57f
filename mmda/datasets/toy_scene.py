"""Layouts of the embedded toy benchmark (:mod:`mmda.datasets.toy`): the
classes and their base colours, and :func:`sample_scene`, which draws the
geometry of one street scene (label map, objects, windows, light sources).
The same layout distribution serves all three domains; how a layout looks in
each domain is :mod:`mmda.datasets.toy_render`.
"""
from typing import List, Tuple

import numpy as np

TOY_H, TOY_W = 64, 128
DOMAINS = ('source', 'target', 'night')
SPLITS = ('train', 'val')

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

