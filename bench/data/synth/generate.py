"""Write the synthetic dataset in MOTChallenge layout, and annotated preview frames for people to look at.

Layout per sequence: `<SEQ>/seqinfo.ini`, `<SEQ>/img1/000001.jpg ...`, `<SEQ>/gt/gt.txt` (MOT17 9 columns, box of
the full silhouette clipped to the image, visibility = visible / full silhouette pixels, where pixels outside
the image count as not visible), `<SEQ>/det/det.txt` (noisy detector), and `<SEQ>/synth.json` (appearances,
look-alike groups, constructed crossing pairs; for analysis, ignored by MOTChallenge readers).
Boxes follow the MOTChallenge convention: 1-based left/top, so pixel column i (0-based) is x = i + 1.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.core.fsutil import atomic_dir
from bench.data.mot_io import SeqInfo, read_detections, read_gt, read_seqinfo, write_detections, write_gt, write_seqinfo
from bench.data.synth.appearance import make_appearances
from bench.data.synth.detector import DetectorConfig, GtBox, detect
from bench.data.synth.geometry import Camera
from bench.data.synth.motion import MotionConfig, simulate
from bench.data.synth.params import SynthParams
from bench.data.synth.render import NoiseBank, compose_frame, finish_frame
from bench.data.synth.scene import build_scene


def _smooth_signal(n: int, fps: int, rng: np.random.Generator, periods_s: tuple[float, float]) -> np.ndarray:
    """A smooth random signal in about [-1, 1]: a sum of three slow sinusoids."""
    t = np.arange(n, dtype=np.float64) / fps
    out = np.zeros(n)
    for _ in range(3):
        period = rng.uniform(*periods_s)
        out += np.sin(2 * math.pi * t / period + rng.uniform(0, 2 * math.pi))
    return out / 3.0


def camera_shake(n: int, amplitude: float, fps: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Per-frame integer image shift (dx, dy): a smooth wobble of a few pixels."""
    sx = _smooth_signal(n, fps, rng, (1.5, 6.0))
    sy = _smooth_signal(n, fps, rng, (1.5, 6.0))
    scale = amplitude * 1.7  # the sum of three sines rarely reaches its full range
    return [(int(round(np.clip(a * scale, -2 * amplitude, 2 * amplitude))),
             int(round(np.clip(b * scale * 0.6, -2 * amplitude, 2 * amplitude)))) for a, b in zip(sx, sy)]


def lighting(n: int, drift: float, fps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame gain and bias: a slow global brightness/contrast drift around a per-sequence level."""
    base = rng.uniform(0.85, 1.08)
    gain = base * (1.0 + drift * _smooth_signal(n, fps, rng, (4.0, 12.0)))
    bias = 60.0 * drift * _smooth_signal(n, fps, rng, (4.0, 12.0))
    return gain, bias


def _motion_config(p: SynthParams) -> MotionConfig:
    cfg = MotionConfig(people=p.people, crossing_prob=p.crossing_prob, stop_prob=p.stop_prob,
                       standing_frac=p.standing_frac, companion_prob=p.companion_prob)
    if p.speed_scale != 1.0:
        lo, hi = cfg.speed_range
        cfg = replace(cfg, speed_range=(lo * p.speed_scale, hi * p.speed_scale))
    return cfg


def _detector_config(p: SynthParams) -> DetectorConfig:
    return DetectorConfig(jitter=p.det_jitter, miss_floor=p.det_miss_floor, vis50=p.det_vis50,
                          fp_per_frame=p.det_fp_per_frame, fp_on_objects=p.det_fp_on_objects)


def generate_sequence(seq_dir: Path, index: int, split: str, params: SynthParams) -> None:
    """Render sequence number `index` (1-based over the dataset) into `seq_dir`, atomically."""
    seq_dir = Path(seq_dir)
    streams = np.random.SeedSequence([params.seed, index]).spawn(6)
    scene_rng, motion_rng, app_rng, cam_rng, noise_rng, det_rng = (np.random.default_rng(s) for s in streams)
    cam = Camera.from_params(params)
    scene = build_scene(cam, params.occluders, params.camera_jitter_px, scene_rng)
    motion = simulate(cam, _motion_config(params), params.frames, params.fps,
                      [o.footprint() for o in scene.occluders], motion_rng)
    apps, groups = make_appearances(motion.order, app_rng, params.lookalike_frac, params.lookalike_max_group)
    shifts = camera_shake(params.frames, params.camera_jitter_px, params.fps, cam_rng)
    gains, biases = lighting(params.frames, params.lighting_drift, params.fps, cam_rng)
    noise = NoiseBank(params.height, params.width, params.noise_std, noise_rng)
    id_base = index * params.id_stride()

    with atomic_dir(seq_dir) as tmp:
        img_dir = tmp / "img1"
        img_dir.mkdir()
        gt_rows: list[list[float]] = []
        gt_boxes: list[GtBox] = []
        for t, states in enumerate(motion.frames):
            frame_no = t + 1
            people = [(st, apps[st.pid]) for st in states]
            frame, _, stats = compose_frame(scene, cam, people, shifts[t])
            img = finish_frame(frame, float(gains[t]), float(biases[t]), noise.sample(noise_rng))
            Image.fromarray(img).save(img_dir / f"{frame_no:06d}.jpg", quality=params.jpeg_quality)
            for s in stats:
                vis = min(1.0, s.visible_pixels / max(1, s.full_pixels))
                pid = id_base + s.pid
                x1, y1, x2, y2 = s.box
                gt_rows.append([frame_no, pid, x1 + 1, y1 + 1, x2 - x1, y2 - y1, 1, 1, vis])
                gt_boxes.append(GtBox(frame_no, pid, (x1, y1, x2, y2), vis, s.visible_box))
        dets = detect(gt_boxes, params.frames, cam, scene.textured_boxes, _detector_config(params), det_rng)
        dets[:, 1:5] += 1.0  # MOTChallenge 1-based coordinates, like the gt

        name = seq_dir.name
        write_seqinfo(tmp, SeqInfo(name=name, length=params.frames, width=params.width, height=params.height,
                                   fps=float(params.fps)))
        gt = np.asarray(gt_rows, dtype=np.float64).reshape(-1, 9)
        write_gt(tmp / "gt" / "gt.txt", gt)
        write_detections(tmp / "det" / "det.txt", dets)
        meta = {
            "name": name,
            "split": split,
            "params": params.to_dict(),
            "identities": {str(id_base + pid): apps[pid].to_dict() for pid in motion.order},
            "lookalike_groups": [[id_base + pid for pid in g] for g in groups],
            "crossing_pairs": [[id_base + a, id_base + b] for a, b in motion.crossing_pairs],
            **({"companions": [[id_base + a, id_base + b] for a, b in motion.companions]} if motion.companions else {}),
            "occluders": [{"kind": o.kind, "x": round(o.x, 3), "z": round(o.z, 3), "box": list(o.box())}
                          for o in scene.occluders],
        }
        (tmp / "synth.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


# Rendering takes ~20 ms a frame; below this many frames (a few seconds of work) one process is as quick.
PARALLEL_MIN_FRAMES = 500


def generate_synth(root: Path, params: SynthParams, jobs: int | None = None) -> list[tuple[str, str]]:
    """Generate every sequence of the dataset under `root`; returns [(sequence name, "train" | "val")].

    Same params ⇒ byte-identical files, however many processes render them: each sequence draws from its own
    seeded streams (`generate_sequence`), so sequences are rendered in parallel, one process per core by default
    (`jobs`) when there are at least PARALLEL_MIN_FRAMES frames to render.
    Each sequence appears atomically (a killed run leaves no half sequence).
    """
    root = Path(root)
    todo = [(root / name, index, split) for index, (name, split) in enumerate(params.sequences(), start=1)]
    if jobs is None:  # worker processes cost ~0.7 s of CPU to start: not worth it for a few short sequences
        jobs = (os.cpu_count() or 1) if len(todo) * params.frames >= PARALLEL_MIN_FRAMES else 1
    jobs = min(len(todo), jobs)
    if jobs <= 1:
        for seq_dir, index, split in todo:
            generate_sequence(seq_dir, index, split, params)
    else:
        from joblib import Parallel, delayed

        Parallel(n_jobs=jobs, backend="loky")(delayed(generate_sequence)(d, i, s, params) for d, i, s in todo)
    return [(seq_dir.name, split) for seq_dir, _, split in todo]


def _vis_color(vis: float) -> tuple[int, int, int]:
    if vis >= 0.5:
        return (40, 220, 60)
    if vis > 0.0:
        return (250, 200, 30)
    return (240, 60, 60)


def preview(seq_dir: Path, out_dir: Path, frames: list[int] | None = None, scale: int = 2) -> list[Path]:
    """Write annotated PNGs of a few frames (default: first, 1/3, 2/3, last), enlarged `scale` times: gt boxes
    with id and visibility (green >= 0.5, yellow partly occluded, red fully hidden) and detections (thin cyan,
    score at the bottom). Returns the written paths."""
    seq_dir, out_dir = Path(seq_dir), Path(out_dir)
    info = read_seqinfo(seq_dir)
    gt = read_gt(seq_dir / "gt" / "gt.txt")
    dets = read_detections(seq_dir / "det" / "det.txt")
    if frames is None:
        frames = sorted({1, max(1, info.length // 3), max(1, 2 * info.length // 3), info.length})
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    k = max(1, int(scale))
    for f in frames:
        img = Image.open(seq_dir / info.im_dir / f"{f:06d}{info.im_ext}").convert("RGB")
        img = img.resize((img.width * k, img.height * k), Image.NEAREST)
        draw = ImageDraw.Draw(img)
        for _, pid, x, y, w, h, _, _, vis in gt[gt[:, 0] == f]:
            x0, y0 = (x - 1) * k, (y - 1) * k
            color = _vis_color(float(vis))
            draw.rectangle([x0, y0, x0 + w * k - 1, y0 + h * k - 1], outline=color, width=2)
            draw.text((x0 + 3, y0 + 2), f"{int(pid)} {vis:.2f}", fill=color)
        for _, x1, y1, x2, y2, score in dets[dets[:, 0] == f]:
            draw.rectangle([(x1 - 1) * k, (y1 - 1) * k, (x2 - 1) * k - 1, (y2 - 1) * k - 1], outline=(0, 230, 255),
                           width=1)
            draw.text(((x1 - 1) * k + 3, (y2 - 1) * k - 13), f"{score:.2f}", fill=(0, 230, 255))
        draw.text((6, 6), f"{info.name} frame {f}   gt: green vis>=0.5, yellow <0.5, red 0   det: cyan (score)",
                  fill=(255, 255, 255))
        path = out_dir / f"{info.name}_{f:06d}.png"
        img.save(path)
        written.append(path)
    return written
