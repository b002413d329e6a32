"""The static scene: a textured back wall and paved ground in perspective, plus occluders (pillars, crates,
benches, planters) standing on the ground at their own depth, so people behind them are hidden.

Textured regions (shop windows, posters, occluders) are remembered: the detector model fires false positives
on them more often, as real detectors do on clutter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from bench.data.synth.geometry import Camera
from bench.data.synth.motion import Obstacle

OCCLUDER_KINDS = ("pillar", "crate", "bench", "planter")
# width, depth, height in metres
_SIZES = {"pillar": (0.55, 0.55, 8.0), "crate": (1.1, 0.9, 1.0), "bench": (1.9, 0.6, 0.9), "planter": (0.8, 0.8, 1.3)}


@dataclass
class Occluder:
    kind: str
    x: float
    z: float
    rgb: np.ndarray  # (h, w, 3) float32 sprite
    mask: np.ndarray  # (h, w) bool
    left: int  # sprite position in image coordinates (before camera jitter)
    top: int

    def footprint(self) -> Obstacle:
        w, d, _ = _SIZES[self.kind]
        return Obstacle(self.x, self.z, w / 2, d / 2)

    def box(self) -> tuple[int, int, int, int]:
        h, w = self.mask.shape
        return self.left, self.top, self.left + w, self.top + h


@dataclass
class Scene:
    background: np.ndarray  # (H + 2m, W + 2m, 3) float32, margin m for camera jitter
    margin: int
    occluders: list[Occluder]
    textured_boxes: list[tuple[int, int, int, int]]  # x1, y1, x2, y2 in image coordinates (clutter)
    wall_base: float  # image row where the back wall meets the ground


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1] (bilinear upsampling of a coarse random grid)."""
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.uniform(-1, 1, size=(gh, gw)).astype(np.float32)
    img = Image.fromarray(grid).resize((gw * cell, gh * cell), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32)[:h, :w]


def _shade(color, factor: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * factor, 0, 255)) for c in color)


def _ground(cam: Camera, rng: np.random.Generator, h: int, w: int, margin: int) -> np.ndarray:
    base = np.array(rng.choice([(150, 146, 140), (170, 160, 140), (120, 122, 126), (160, 150, 150)]), np.float32)
    tile = float(rng.uniform(0.5, 0.9))
    ys = np.arange(h, dtype=np.float32)[:, None] - margin
    xs = np.arange(w, dtype=np.float32)[None, :] - margin
    dy = np.maximum(ys - cam.horizon, 0.5)
    z = cam.focal * cam.cam_height / dy
    x = (xs - cam.cx) * z / cam.focal
    ppm = cam.focal / z  # pixels per metre at that row
    # Distance to the nearest joint line, in pixels, gives anti-aliased mortar lines.
    fx = np.abs(((x / tile) + 0.5) % 1.0 - 0.5) * tile * ppm
    fz = np.abs(((z / tile) + 0.5) % 1.0 - 0.5) * tile * ppm
    line = np.clip(1.2 - np.minimum(fx, fz), 0, 1)
    # Alternate tile tints.
    checker = ((np.floor(x / tile) + np.floor(z / tile)) % 2).astype(np.float32)
    img = np.broadcast_to(base, (h, w, 3)).copy()
    img *= (1.0 - 0.05 * checker)[..., None]
    img *= (1.0 - 0.35 * line)[..., None]
    img *= (1.0 + 0.08 * _smooth_noise(rng, h, w, 24))[..., None]
    # A path of a different colour along the walking area.
    z_path = float(rng.uniform(cam.z_near + 1, cam.z_far - 1))
    path = np.broadcast_to(np.abs(z - z_path) < 0.8, (h, w))
    img[path] *= np.array(rng.uniform(0.85, 1.1, size=3), np.float32)
    return img


def _wall(rng: np.random.Generator, h: int, w: int, wall_base: int, textured: list, margin: int) -> np.ndarray:
    """Facade above the ground: bricks or panels with shop windows, doors and posters."""
    color = np.array(rng.choice([(170, 110, 90), (200, 190, 170), (140, 140, 150), (180, 160, 120)]), np.float32)
    img = Image.new("RGB", (w, h), tuple(int(c) for c in color))
    draw = ImageDraw.Draw(img)
    brick_h = int(rng.integers(5, 9))
    brick_w = brick_h * 3
    dark = _shade(color, 0.8)
    for row, y in enumerate(range(0, wall_base, brick_h)):
        draw.line([(0, y), (w, y)], fill=dark)
        offset = (row % 2) * brick_w // 2
        for x in range(-offset, w, brick_w):
            draw.line([(x, y), (x, y + brick_h)], fill=dark)
    x = int(rng.integers(0, 30))
    while x < w - 20:
        kind = rng.choice(["window", "door", "poster", "gap"], p=[0.4, 0.15, 0.25, 0.2])
        ww = int(rng.integers(25, 70))
        if kind == "window":
            top = int(rng.integers(wall_base // 6, wall_base // 2))
            glass = tuple(int(c) for c in rng.integers(40, 110, size=3))
            draw.rectangle([x, top, x + ww, wall_base - 8], fill=glass, outline=(40, 40, 40), width=2)
            for k in range(int(rng.integers(1, 4))):  # goods / reflections behind the glass
                gx = x + int(rng.integers(3, max(4, ww - 10)))
                gy = int(rng.integers(top + 4, max(top + 5, wall_base - 18)))
                draw.rectangle([gx, gy, gx + int(rng.integers(4, 10)), gy + int(rng.integers(4, 12))],
                               fill=tuple(int(c) for c in rng.integers(60, 230, size=3)))
            textured.append((x - margin, top - margin, x + ww - margin, wall_base - 8 - margin))
        elif kind == "door":
            top = wall_base - int(wall_base * 0.45)
            draw.rectangle([x, top, x + ww // 2 + 8, wall_base], fill=_shade(color, 0.45), outline=(30, 30, 30))
            ww = ww // 2 + 8
        elif kind == "poster":
            top = int(rng.integers(wall_base // 4, wall_base // 2))
            ph = int(rng.integers(20, 40))
            pw = min(ww, int(ph * 0.75))
            stripes = int(rng.integers(2, 6))
            for s in range(stripes):
                c = tuple(int(v) for v in rng.integers(30, 240, size=3))
                y0 = top + s * ph // stripes
                draw.rectangle([x, y0, x + pw, top + (s + 1) * ph // stripes], fill=c)
            draw.ellipse([x + pw // 4, top + ph // 4, x + 3 * pw // 4, top + ph // 2],
                         fill=tuple(int(v) for v in rng.integers(30, 240, size=3)))
            textured.append((x - margin, top - margin, x + pw - margin, top + ph - margin))
            ww = pw
        x += ww + int(rng.integers(10, 50))
    arr = np.asarray(img, dtype=np.float32).copy()
    arr *= (1.0 + 0.06 * _smooth_noise(rng, h, w, 16))[..., None]
    return arr


def _occluder_sprite(kind: str, cam: Camera, z: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw an occluder of real size at depth z; returns (rgb, mask) with the ground contact at the bottom row."""
    wm, _, hm = _SIZES[kind]
    ppm = cam.pixels_per_metre(z)
    w = max(4, int(round(wm * ppm)))
    h = max(4, int(round(min(hm * ppm, cam.foot_y(z) + 10))))
    rgb = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    dr, dm = ImageDraw.Draw(rgb), ImageDraw.Draw(mask)

    def box(x0, y0, x1, y1, color, outline=None):
        dr.rectangle([x0, y0, x1, y1], fill=color, outline=outline)
        dm.rectangle([x0, y0, x1, y1], fill=255)

    if kind == "pillar":
        color = tuple(int(c) for c in rng.choice([(190, 186, 178), (150, 150, 160), (120, 90, 80)]))
        box(0, 0, w - 1, h - 1, color)
        for yy in range(0, h, max(6, int(ppm * 0.5))):  # seams
            dr.line([(0, yy), (w, yy)], fill=_shade(color, 0.8))
    elif kind == "crate":
        color = tuple(int(c) for c in rng.choice([(150, 110, 60), (120, 90, 50), (90, 110, 70)]))
        box(0, 0, w - 1, h - 1, color, outline=_shade(color, 0.5))
        planks = 4
        for k in range(1, planks):
            yy = k * h // planks
            dr.line([(0, yy), (w, yy)], fill=_shade(color, 0.6), width=max(1, h // 40))
        dr.line([(0, 0), (w, h)], fill=_shade(color, 0.7), width=max(1, w // 20))
        dr.line([(w, 0), (0, h)], fill=_shade(color, 0.7), width=max(1, w // 20))
    elif kind == "bench":
        color = tuple(int(c) for c in rng.choice([(110, 70, 40), (60, 90, 60), (80, 80, 90)]))
        leg = max(2, w // 20)
        seat_y = int(h * 0.5)
        box(int(w * 0.08), seat_y, int(w * 0.08) + leg, h - 1, _shade(color, 0.6))
        box(int(w * 0.88), seat_y, int(w * 0.88) + leg, h - 1, _shade(color, 0.6))
        box(0, seat_y, w - 1, seat_y + max(2, h // 8), color)
        for k in range(2):  # backrest slats with gaps between them
            y0 = int(h * (0.05 + 0.2 * k))
            box(0, y0, w - 1, y0 + max(2, h // 10), color)
    else:  # planter: pot with a bushy plant
        pot = tuple(int(c) for c in rng.choice([(120, 120, 120), (170, 90, 60), (60, 60, 70)]))
        pot_top = int(h * 0.5)
        box(int(w * 0.1), pot_top, int(w * 0.9), h - 1, pot)
        leaf = (40, 110, 45)
        for _ in range(14):
            cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.12, 0.55) * h
            r = rng.uniform(0.12, 0.22) * w
            c = _shade(leaf, float(rng.uniform(0.7, 1.3)))
            dr.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c)
            dm.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    arr = np.asarray(rgb, dtype=np.float32).copy()
    # Side lighting so the object reads as a solid.
    arr *= np.linspace(1.1, 0.85, w, dtype=np.float32)[None, :, None]
    return arr, np.asarray(mask) > 0


def build_scene(cam: Camera, n_occluders: int, max_jitter: float, rng: np.random.Generator) -> Scene:
    margin = int(math.ceil(max_jitter * 2)) + 2
    h, w = cam.height + 2 * margin, cam.width + 2 * margin
    z_wall = cam.z_far + 3.0
    wall_base = cam.foot_y(z_wall)
    textured: list[tuple[int, int, int, int]] = []
    ground = _ground(cam, rng, h, w, margin)
    wall = _wall(rng, h, w, int(round(wall_base)) + margin, textured, margin)
    rows = np.arange(h)[:, None, None]
    bg = np.where(rows < wall_base + margin, wall, ground).astype(np.float32)

    occluders: list[Occluder] = []
    tries = 0
    while len(occluders) < n_occluders and tries < 200:
        tries += 1
        kind = OCCLUDER_KINDS[int(rng.choice(len(OCCLUDER_KINDS), p=[0.35, 0.25, 0.2, 0.2]))]
        z = float(rng.uniform(cam.z_near + 0.8, cam.z_far - 0.5))
        x = float(rng.uniform(-0.8, 0.8) * cam.half_view_x(z))
        wm, dm, _ = _SIZES[kind]
        if any(abs(x - o.x) < (wm + _SIZES[o.kind][0]) / 2 + 0.8 and abs(z - o.z) < (dm + _SIZES[o.kind][1]) / 2 + 1.0
               for o in occluders):
            continue
        rgb, mask = _occluder_sprite(kind, cam, z, rng)
        left = int(round(cam.image_x(x, z) - rgb.shape[1] / 2))
        top = int(round(cam.foot_y(z))) - rgb.shape[0]
        occluders.append(Occluder(kind, x, z, rgb, mask, left, top))
        # Contact shadow on the ground.
        sy = int(round(cam.foot_y(z))) + margin
        x0, x1 = max(0, left + margin - 2), min(w, left + margin + rgb.shape[1] + 2)
        bg[max(0, sy - 2):min(h, sy + 3), x0:x1] *= 0.7
    textured += [o.box() for o in occluders]
    return Scene(background=bg, margin=margin, occluders=occluders, textured_boxes=textured, wall_base=wall_base)
