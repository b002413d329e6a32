"""Drawing people and composing frames with a per-pixel identity buffer.

People are articulated side-view figures (head, hair, torso, two arms, two legs with knees) whose limbs swing
with the walking phase. Frames are composed far to near (people and scene objects at their own depth), and the
identity buffer says who owns each pixel, which gives each person's full-silhouette pixel count and box and
their visible pixel count: the ground truth's visibility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from bench.data.synth.appearance import CLOTHES, HAIR, SKIN, Appearance
from bench.data.synth.geometry import PERSON_HEIGHT_M, Camera
from bench.data.synth.motion import PersonState
from bench.data.synth.scene import Scene

# Part labels in a person sprite (0 = empty).
(BACK_THIGH, BACK_SHIN, BACK_SHOE, BACK_ARM, BACK_FOREARM, BACK_HAND, BACKPACK, TORSO, TORSO2, NECK, FRONT_THIGH,
 FRONT_SHIN, FRONT_SHOE, SKIRT, BAG, STRAP, FRONT_ARM, FRONT_FOREARM, FRONT_HAND, HAIR_PART, FACE, HAT) = range(1, 23)
_N_LABELS = 23
_BACK_PARTS = (BACK_THIGH, BACK_SHIN, BACK_SHOE, BACK_ARM, BACK_FOREARM, BACK_HAND)

BACKGROUND_ID = -1  # identity-buffer value of background pixels; scene objects are -2, -3, ...


@dataclass
class Sprite:
    rgb: np.ndarray  # (h, w, 3) float32
    mask: np.ndarray  # (h, w) bool: the full silhouette
    anchor_x: float  # where the feet touch the ground, in sprite pixels
    anchor_y: float


def _palette(app: Appearance) -> np.ndarray:
    """Colour of every part label for one identity."""
    skin = SKIN[app.skin]
    upper, upper2, lower = CLOTHES[app.upper], CLOTHES[app.upper2], CLOTHES[app.lower]
    lut = np.zeros((_N_LABELS, 3), np.float32)
    legs = skin if app.lower_style == "skirt" else lower
    shins = skin if app.lower_style in ("shorts", "skirt") else lower
    forearms = upper if app.sleeves == "long" else skin
    for label, color in [
        (BACK_THIGH, legs), (FRONT_THIGH, legs), (BACK_SHIN, shins), (FRONT_SHIN, shins),
        (BACK_SHOE, CLOTHES[app.shoes]), (FRONT_SHOE, CLOTHES[app.shoes]),
        (BACK_ARM, upper), (FRONT_ARM, upper), (BACK_FOREARM, forearms), (FRONT_FOREARM, forearms),
        (BACK_HAND, skin), (FRONT_HAND, skin), (NECK, skin), (FACE, skin),
        (TORSO, upper), (TORSO2, upper2), (SKIRT, lower), (HAIR_PART, HAIR[app.hair]),
        (BACKPACK, CLOTHES[app.accessory_color]), (BAG, CLOTHES[app.accessory_color]),
        (STRAP, tuple(0.6 * c for c in CLOTHES[app.accessory_color])), (HAT, CLOTHES[app.accessory_color]),
    ]:
        lut[label] = color
    lut[list(_BACK_PARTS)] *= 0.72  # the far-side limbs are in shadow
    return lut


def _limb(draw: ImageDraw.ImageDraw, p0, p1, width: float, label: int) -> None:
    w = max(1, int(round(width)))
    draw.line([p0, p1], fill=label, width=w)
    r = w / 2.0
    draw.ellipse([p1[0] - r, p1[1] - r, p1[0] + r, p1[1] + r], fill=label)


def draw_person(app: Appearance, height_px: float, facing: int, phase: float, moving: bool,
                frac_x: float = 0.0) -> Sprite:
    """Render one person `height_px` tall (feet to top of head) as a labelled, coloured sprite."""
    H = float(height_px)
    f = 1 if facing >= 0 else -1
    ws = app.width_scale
    cw = int(math.ceil(0.95 * H)) + 6
    ch = int(math.ceil(1.12 * H)) + 6
    cx = cw / 2.0 + frac_x
    ground = ch - 3.0

    # Pose: limb angles (radians, positive = forward) from the walking phase.
    if moving:
        s, c = math.sin(phase), math.cos(phase)
        thigh = {FRONT_THIGH: 0.42 * s, BACK_THIGH: -0.42 * s}
        bend = {FRONT_THIGH: 0.7 * max(0.0, c), BACK_THIGH: 0.7 * max(0.0, -c)}
        arm = {FRONT_ARM: -0.45 * s, BACK_ARM: 0.45 * s}
    else:
        thigh = {FRONT_THIGH: 0.05, BACK_THIGH: -0.05}
        bend = {FRONT_THIGH: 0.0, BACK_THIGH: 0.0}
        arm = {FRONT_ARM: 0.04, BACK_ARM: -0.04}
    thigh_len, shin_len = 0.245 * H, 0.245 * H
    # Lowest foot touches the ground: compute the hip height from the pose.
    def leg_points(hip, which):
        a, b = thigh[which], thigh[which] - bend[which]
        knee = (hip[0] + f * thigh_len * math.sin(a), hip[1] + thigh_len * math.cos(a))
        ankle = (knee[0] + f * shin_len * math.sin(b), knee[1] + shin_len * math.cos(b))
        return knee, ankle

    hip0 = (cx, 0.0)
    drop = max(leg_points(hip0, k)[1][1] for k in (FRONT_THIGH, BACK_THIGH))
    hip_y = ground - 0.02 * H - drop
    top = hip_y - 0.51 * H  # top of the head (standing height preserved up to the bob)
    sh_y = top + 0.17 * H
    hip = (cx - f * 0.01 * H, hip_y)

    img = Image.new("L", (cw, ch), 0)
    d = ImageDraw.Draw(img)
    leg_w = 0.085 * H * ws
    arm_w = 0.06 * H * ws
    tw = 0.19 * H * ws

    def draw_leg(which: int) -> None:
        knee, ankle = leg_points(hip, which)
        thigh_label = which
        shin_label = BACK_SHIN if which == BACK_THIGH else FRONT_SHIN
        shoe_label = BACK_SHOE if which == BACK_THIGH else FRONT_SHOE
        _limb(d, hip, knee, leg_w, thigh_label)
        _limb(d, knee, ankle, leg_w * 0.9, shin_label)
        toe = ankle[0] + f * 0.07 * H
        d.polygon([(ankle[0] - f * 0.025 * H, ankle[1] - 0.02 * H), (toe, ankle[1] - 0.005 * H),
                   (toe, ankle[1] + 0.015 * H), (ankle[0] - f * 0.025 * H, ankle[1] + 0.015 * H)], fill=shoe_label)

    def draw_arm(which: int) -> None:
        shoulder = (cx + f * 0.005 * H, sh_y + 0.03 * H)
        a = arm[which]
        elbow = (shoulder[0] + f * 0.17 * H * math.sin(a), shoulder[1] + 0.17 * H * math.cos(a))
        b = a + 0.3 + (0.25 * max(0.0, a) if moving else 0.0)
        wrist = (elbow[0] + f * 0.15 * H * math.sin(b), elbow[1] + 0.15 * H * math.cos(b))
        forearm = BACK_FOREARM if which == BACK_ARM else FRONT_FOREARM
        hand = BACK_HAND if which == BACK_ARM else FRONT_HAND
        _limb(d, shoulder, elbow, arm_w, which)
        _limb(d, elbow, wrist, arm_w * 0.9, forearm)
        r = 0.03 * H
        d.ellipse([wrist[0] - r, wrist[1] - r, wrist[0] + r, wrist[1] + r], fill=hand)

    # Far side first, near side last.
    draw_leg(BACK_THIGH)
    draw_arm(BACK_ARM)
    if app.accessory == "backpack":
        bx0 = cx - f * (tw / 2 + 0.1 * H)
        bx1 = cx - f * (tw / 2 - 0.03 * H)
        d.rounded_rectangle([min(bx0, bx1), sh_y + 0.02 * H, max(bx0, bx1), top + 0.46 * H],
                            radius=max(1, int(0.02 * H)), fill=BACKPACK)
    head_r = 0.062 * H
    head_c = (cx + f * 0.012 * H, top + 0.068 * H)
    d.rectangle([cx - 0.025 * H + f * 0.01 * H, head_c[1], cx + 0.025 * H + f * 0.01 * H, sh_y + 0.01 * H],
                fill=NECK)
    lean = f * 0.015 * H
    d.polygon([(cx - tw / 2 + lean, sh_y + 0.03 * H), (cx - tw / 2 + 0.04 * H + lean, sh_y),
               (cx + tw / 2 - 0.04 * H + lean, sh_y), (cx + tw / 2 + lean, sh_y + 0.03 * H),
               (cx + 0.46 * tw, hip_y + 0.01 * H), (cx - 0.46 * tw, hip_y + 0.01 * H)], fill=TORSO)
    draw_leg(FRONT_THIGH)
    if app.lower_style == "skirt":
        d.polygon([(cx - 0.48 * tw, hip_y - 0.03 * H), (cx + 0.48 * tw, hip_y - 0.03 * H),
                   (cx + 0.75 * tw, top + 0.72 * H), (cx - 0.75 * tw, top + 0.72 * H)], fill=SKIRT)
    else:
        # Waistband: trousers reach the torso.
        d.rectangle([cx - 0.46 * tw, hip_y - 0.03 * H, cx + 0.46 * tw, hip_y + 0.01 * H], fill=FRONT_THIGH)
    if app.accessory == "bag":
        bx = cx - f * 0.02 * H
        d.line([(cx + f * 0.04 * H, sh_y + 0.01 * H), (bx, top + 0.47 * H)], fill=STRAP,
               width=max(1, int(round(0.012 * H))))
        d.rectangle([bx - 0.07 * H, top + 0.45 * H, bx + 0.05 * H, top + 0.57 * H], fill=BAG)
    draw_arm(FRONT_ARM)
    # Head: hair behind/above, face towards the walking direction.
    d.ellipse([head_c[0] - head_r, head_c[1] - head_r, head_c[0] + head_r, head_c[1] + head_r], fill=FACE)
    hr = head_r * 1.06
    hc = (head_c[0] - f * 0.018 * H, head_c[1] - 0.012 * H)
    if app.hair_style == "long":
        d.polygon([(hc[0] - f * hr * 0.9, hc[1]), (hc[0] + f * 0.2 * hr, hc[1]),
                   (hc[0] + f * 0.1 * hr, top + 0.24 * H), (hc[0] - f * hr * 0.95, top + 0.24 * H)], fill=HAIR_PART)
    hair_box = [hc[0] - hr, hc[1] - hr, hc[0] + hr, hc[1] + hr]
    d.pieslice(hair_box, 180, 360, fill=HAIR_PART)  # top of the head
    d.pieslice(hair_box, 90 if f > 0 else 0, 180 if f > 0 else 90, fill=HAIR_PART)  # back of the head
    if app.accessory == "hat":
        brim_y = top + 0.02 * H
        d.ellipse([head_c[0] - 1.35 * head_r, brim_y - 0.22 * head_r, head_c[0] + 1.35 * head_r,
                   brim_y + 0.22 * head_r], fill=HAT)
        d.rectangle([head_c[0] - 0.85 * head_r, brim_y - 0.75 * head_r, head_c[0] + 0.85 * head_r, brim_y],
                    fill=HAT)

    labels = np.asarray(img)
    labels = _apply_pattern(labels, app.pattern, cx, sh_y, hip_y, top, H, f)
    lut = _palette(app)
    rgb = np.take(lut, labels, axis=0)  # = lut[labels], 4x quicker than fancy indexing
    # Soft light from the upper left gives the flat figure some volume.
    xs = (np.arange(cw, dtype=np.float32) - cx) / max(1.0, 0.25 * H)
    ys = (np.arange(ch, dtype=np.float32) - top) / max(1.0, H)
    shade = 1.0 - 0.1 * np.clip(xs, -1, 1)[None, :] - 0.12 * ys[:, None]
    rgb *= shade[..., None]
    return Sprite(rgb=rgb, mask=labels > 0, anchor_x=cx - frac_x, anchor_y=ground)


def _apply_pattern(labels: np.ndarray, pattern: str, cx: float, sh_y: float, hip_y: float, top: float, H: float,
                   f: int) -> np.ndarray:
    if pattern == "plain":
        return labels
    torso = labels == TORSO
    ys, xs = np.ogrid[0:labels.shape[0], 0:labels.shape[1]]  # broadcast: the same masks as full index grids
    if pattern == "hstripes":
        stripe = max(2, int(round(0.04 * H)))
        sec = ((ys - int(sh_y)) // stripe) % 2 == 1
    elif pattern == "vsplit":
        sec = (xs - cx) * f > 0
    elif pattern == "band":
        sec = (ys >= top + 0.28 * H) & (ys <= top + 0.36 * H)
    else:  # logo on the chest
        lx, ly, r = cx + f * 0.03 * H, top + 0.3 * H, max(1.5, 0.045 * H)
        sec = (np.abs(xs - lx) <= r) & (np.abs(ys - ly) <= r)
    out = labels.copy()
    out[torso & sec] = TORSO2
    return out


@dataclass
class PersonStats:
    """Per person and frame, from the identity buffer (boxes x1, y1, x2, y2 in pixel edges, 0-based)."""

    pid: int
    full_pixels: int
    box: tuple[int, int, int, int]  # full silhouette, clipped to the image
    visible_pixels: int
    visible_box: tuple[int, int, int, int] | None


def person_height_px(cam: Camera, app: Appearance, z: float) -> float:
    return PERSON_HEIGHT_M * app.height_scale * cam.pixels_per_metre(z)


def _paste(frame: np.ndarray, idbuf: np.ndarray, rgb: np.ndarray, mask: np.ndarray, left: int, top: int,
           code: int) -> tuple[slice, slice, np.ndarray] | None:
    """Draw a sprite over the frame (clipped to it); returns the frame region and the sprite mask inside it."""
    H, W = idbuf.shape
    h, w = mask.shape
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(H, top + h), min(W, left + w)
    if y0 >= y1 or x0 >= x1:
        return None
    sub = mask[y0 - top:y1 - top, x0 - left:x1 - left]
    region = (slice(y0, y1), slice(x0, x1))
    np.copyto(frame[region], rgb[y0 - top:y1 - top, x0 - left:x1 - left], where=sub[..., None])
    idbuf[region][sub] = code
    return region[0], region[1], sub


def _shadow(frame: np.ndarray, idbuf: np.ndarray, u: float, v: float, height: float) -> None:
    """Darken an ellipse on the ground under the feet (only where the ground is visible)."""
    rx, ry = 0.22 * height, 0.035 * height + 1
    H, W = idbuf.shape
    x0, x1 = max(0, int(u - rx)), min(W, int(u + rx) + 1)
    y0, y1 = max(0, int(v - ry)), min(H, int(v + ry) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.ogrid[y0:y1, x0:x1]
    inside = ((xs - u) / rx) ** 2 + ((ys - v) / ry) ** 2 <= 1.0
    inside &= idbuf[y0:y1, x0:x1] == BACKGROUND_ID
    frame[y0:y1, x0:x1][inside] *= 0.72


def compose_frame(scene: Scene, cam: Camera, people: list[tuple[PersonState, Appearance]],
                  shift: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[PersonStats]]:
    """Draw the scene shifted by the camera jitter and the people, far to near.

    Returns the float32 frame (before lighting and noise), the identity buffer (person index into `people`,
    -1 background, -2-k scene object k) and each in-image person's stats.
    """
    dx, dy = shift
    m = scene.margin
    H, W = cam.height, cam.width
    frame = scene.background[m - dy:m - dy + H, m - dx:m - dx + W].copy()
    idbuf = np.full((H, W), BACKGROUND_ID, np.int32)

    items: list[tuple[float, int, int]] = [(o.z, 0, k) for k, o in enumerate(scene.occluders)]
    items += [(st.z, 1, i) for i, (st, _) in enumerate(people)]
    items.sort(key=lambda t: (-t[0], t[1], t[2]))
    placed: dict[int, tuple[int, int, Sprite]] = {}
    for _, kind, k in items:
        if kind == 0:
            o = scene.occluders[k]
            _paste(frame, idbuf, o.rgb, o.mask, o.left + dx, o.top + dy, -2 - k)
            continue
        st, app = people[k]
        height = person_height_px(cam, app, st.z)
        u = cam.image_x(st.x, st.z) + dx
        v = cam.foot_y(st.z) + dy
        if u + height < 0 or u - height > W:
            continue
        _shadow(frame, idbuf, u, v, height)
        sprite = draw_person(app, height, st.facing, st.phase, st.moving, frac_x=u - math.floor(u))
        left = int(math.floor(u) - round(sprite.anchor_x))
        top = int(round(v - sprite.anchor_y))
        _paste(frame, idbuf, sprite.rgb, sprite.mask, left, top, k)
        placed[k] = (left, top, sprite)

    stats: list[PersonStats] = []
    for k, (left, top, sprite) in sorted(placed.items()):
        mask = sprite.mask
        h, w = mask.shape
        y0, x0 = max(0, top), max(0, left)
        y1, x1 = min(H, top + h), min(W, left + w)
        if y0 >= y1 or x0 >= x1:
            continue
        sub = mask[y0 - top:y1 - top, x0 - left:x1 - left]
        rows, cols = np.flatnonzero(sub.any(axis=1)), np.flatnonzero(sub.any(axis=0))
        if len(rows) == 0:
            continue
        box = (x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1)
        own = idbuf[y0:y1, x0:x1] == k
        visible = int(own.sum())
        vbox = None
        if visible:
            vr, vc = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
            vbox = (x0 + int(vc[0]), y0 + int(vr[0]), x0 + int(vc[-1]) + 1, y0 + int(vr[-1]) + 1)
        stats.append(PersonStats(people[k][0].pid, int(mask.sum()), box, visible, vbox))
    return frame, idbuf, stats


class NoiseBank:
    """Sensor noise from a few pre-drawn Gaussian fields, shifted and sign-flipped per frame.

    Drawing a fresh 640x360x3 Gaussian field costs more than the rest of a frame; a shifted field from a small
    bank looks the same to a detector or a Re-ID model and stays deterministic.
    """

    def __init__(self, height: int, width: int, std: float, rng: np.random.Generator, fields: int = 4,
                 pad: int = 24) -> None:
        self.h, self.w, self.pad, self.std = height, width, pad, std
        self.fields = [rng.standard_normal((height + pad, width + pad, 3), dtype=np.float32) * np.float32(std)
                       for _ in range(fields)] if std > 0 else []

    def sample(self, rng: np.random.Generator) -> np.ndarray | None:
        if not self.fields:
            return None
        k = int(rng.integers(len(self.fields)))
        oy, ox = (int(v) for v in rng.integers(0, self.pad + 1, size=2))
        field = self.fields[k][oy:oy + self.h, ox:ox + self.w]
        return -field if rng.random() < 0.5 else field


def finish_frame(frame: np.ndarray, gain: float, bias: float, noise: np.ndarray | None) -> np.ndarray:
    """Global lighting (gain/bias) and sensor noise; returns the uint8 image."""
    out = frame * np.float32(gain)
    out += np.float32(bias)
    if noise is not None:
        out += noise
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
