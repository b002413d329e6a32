"""A noisy pedestrian detector model driven by the rendered ground truth.

What it imitates (so that trackers' handling of detections matters as on real data):
- misses: rare for fully visible people, near certain below ~0.2 visibility (a sigmoid in visibility);
- box noise: edge jitter proportional to box size, larger when occluded, and occluded boxes drift towards the
  visible part (real detectors are pulled to what they see);
- scores correlated with visibility: visible true positives mostly 0.6-1.0, occluded ones lower, false positives
  mostly low, so that ByteTrack's split into high- and low-score detections matters;
- false positives: boxes of plausible person size on the ground, and recurring ones on textured clutter (shop
  windows, posters, scene objects), as real detectors fire on the same clutter again and again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.data.synth.geometry import PERSON_HEIGHT_M, Camera


@dataclass(frozen=True)
class DetectorConfig:
    jitter: float = 0.04
    miss_floor: float = 0.03
    vis50: float = 0.3
    vis_slope: float = 0.06  # width of the visibility sigmoid
    fp_per_frame: float = 1.0
    fp_on_objects: float = 0.5
    aspect: float = 0.41  # width / height of a person box


@dataclass(frozen=True)
class GtBox:
    frame: int
    pid: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 (pixel edges, 0-based)
    visibility: float
    visible_box: tuple[float, float, float, float] | None


def detect_probability(visibility: np.ndarray | float, cfg: DetectorConfig) -> np.ndarray:
    """Chance that a person with this visibility is detected."""
    v = np.asarray(visibility, dtype=np.float64)
    # The extra ramp makes hidden people (visibility 0) impossible to detect, not just unlikely.
    return (1.0 - cfg.miss_floor) / (1.0 + np.exp(-(v - cfg.vis50) / cfg.vis_slope)) * np.clip(v / 0.1, 0.0, 1.0)


def _clip_box(b: np.ndarray, width: int, height: int) -> np.ndarray | None:
    x1, y1 = max(0.0, b[0]), max(0.0, b[1])
    x2, y2 = min(float(width), b[2]), min(float(height), b[3])
    if x2 - x1 < 2 or y2 - y1 < 4:
        return None
    return np.array([x1, y1, x2, y2])


def _true_positive(g: GtBox, cfg: DetectorConfig, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    box = np.array(g.box, dtype=np.float64)
    v = g.visibility
    if g.visible_box is not None:
        pull = 0.5 * (1.0 - v) ** 2
        box = (1 - pull) * box + pull * np.array(g.visible_box, dtype=np.float64)
    w, h = box[2] - box[0], box[3] - box[1]
    sigma = cfg.jitter * (1.0 + 1.5 * (1.0 - v))
    box = box + rng.normal(0.0, sigma, size=4) * np.array([w, h, w, h])
    score = 0.3 + 0.65 * v + rng.normal(0.0, 0.07)
    return box, float(np.clip(score, 0.02, 0.99))


def _person_box_at(cam: Camera, foot_x: float, foot_y: float, scale: float) -> np.ndarray:
    z = cam.depth_at_row(foot_y)
    h = PERSON_HEIGHT_M * scale * cam.pixels_per_metre(z)
    w = h * 0.41 * scale
    return np.array([foot_x - w / 2, foot_y - h, foot_x + w / 2, foot_y])


def _clutter_sites(cam: Camera, boxes: list[tuple[int, int, int, int]], rng: np.random.Generator) -> list[np.ndarray]:
    """One recurring false-positive box per textured region: person-sized for the depth of its bottom edge."""
    sites = []
    for x1, y1, x2, y2 in boxes:
        foot_y = min(float(y2), cam.height - 1.0)
        if foot_y <= cam.horizon + 5:
            continue
        fx = float(rng.uniform(x1, x2))
        b = _person_box_at(cam, fx, foot_y, float(rng.uniform(0.8, 1.1)))
        sites.append(b)
    return sites


def detect(gt: list[GtBox], num_frames: int, cam: Camera, textured: list[tuple[int, int, int, int]],
           cfg: DetectorConfig, rng: np.random.Generator) -> np.ndarray:
    """Detections for frames 1..num_frames → (N, 6) frame, x1, y1, x2, y2, score (0-based pixel edges)."""
    rows: list[list[float]] = []
    by_frame: dict[int, list[GtBox]] = {}
    for g in gt:
        by_frame.setdefault(g.frame, []).append(g)
    sites = _clutter_sites(cam, textured, rng)
    # Each clutter site fires with the same probability, chosen so they give `fp_on_objects` of the FPs.
    site_rate = min(0.9, cfg.fp_per_frame * cfg.fp_on_objects / len(sites)) if sites else 0.0
    random_rate = cfg.fp_per_frame * (1.0 - cfg.fp_on_objects if sites else 1.0)
    for frame in range(1, num_frames + 1):
        for g in by_frame.get(frame, []):
            if rng.random() >= float(detect_probability(g.visibility, cfg)):
                continue
            box, score = _true_positive(g, cfg, rng)
            box = _clip_box(box, cam.width, cam.height)
            if box is not None:
                rows.append([frame, *box.tolist(), score])
        fps: list[np.ndarray] = []
        for site in sites:
            if rng.random() < site_rate:
                w, h = site[2] - site[0], site[3] - site[1]
                fps.append(site + rng.normal(0.0, 0.05, size=4) * np.array([w, h, w, h]))
        for _ in range(int(rng.poisson(random_rate))):
            foot_y = float(rng.uniform(cam.foot_y(cam.z_far), cam.height - 1.0))
            fps.append(_person_box_at(cam, float(rng.uniform(0, cam.width)), foot_y, float(rng.uniform(0.6, 1.2))))
        for b in fps:
            b = _clip_box(b, cam.width, cam.height)
            if b is not None:
                rows.append([frame, *b.tolist(), float(np.clip(rng.beta(2.0, 5.0), 0.01, 0.95))])
    if not rows:
        return np.zeros((0, 6))
    out = np.asarray(rows, dtype=np.float64)
    order = np.lexsort((out[:, 1], out[:, 0]))
    return out[order]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) x1, y1, x2, y2 boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)

