"""All knobs of the synthetic dataset in one frozen dataclass (its dict is the dataset's cache key)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from bench.core.errors import BenchError


@dataclass(frozen=True)
class SynthParams:
    """Generator parameters. Defaults are small so that generate + detect + track + evaluate take minutes on 2 CPUs.

    Geometry is given relative to the image height so that other image sizes keep the same look.
    """

    seed: int = field(default=0, metadata={"range": "[0, 4294967295]"})
    width: int = field(default=640, metadata={"range": "[160, inf)"})
    height: int = field(default=360, metadata={"range": "[90, inf)"})
    fps: int = field(default=25, metadata={"range": "[1, inf)"})
    num_train: int = field(default=3, metadata={"range": "[0, inf)"})
    num_val: int = field(default=10, metadata={"range": "[0, inf)"})  # 6+ val sequences are needed for a verdict
    frames: int = field(default=150, metadata={"range": "[1, inf)"})
    # Scene population: the simulation keeps about this many people walking in view (entries replace exits).
    people: int = field(default=12, metadata={"range": "[1, inf)"})
    # Person height in pixels at the nearest and the farthest walking depth, as fractions of the image height.
    near_height_frac: float = field(default=0.5, metadata={"range": "[0.05, 0.8]"})
    far_height_frac: float = field(default=0.17, metadata={"range": "[0.05, 0.8]"})
    # Chance that a person entering is sent head-on towards someone already walking at a similar depth.
    crossing_prob: float = field(default=0.5, metadata={"range": "[0, 1]"})
    # Per-frame chance that a walking person stops for 1-4 s; fraction of people standing still at the start.
    stop_prob: float = field(default=0.004, metadata={"range": "[0, 1]"})
    standing_frac: float = field(default=0.15, metadata={"range": "[0, 1]"})
    # Look-alike identities: this fraction of identities belongs to groups (2..max members) that share every part
    # of their appearance except one.
    lookalike_frac: float = field(default=0.4, metadata={"range": "[0, 1]"})
    lookalike_max_group: int = field(default=3, metadata={"range": "[2, inf)"})
    # Static scene objects (pillars, crates, benches, planters) that hide people walking behind them.
    occluders: int = field(default=4, metadata={"range": "[0, inf)"})
    # Camera and image degradations.
    camera_jitter_px: float = field(default=2.0, metadata={"range": "[0, inf)"})
    lighting_drift: float = field(default=0.12, metadata={"range": "[0, inf)"})
    noise_std: float = field(default=3.0, metadata={"range": "[0, inf)"})
    jpeg_quality: int = field(default=90, metadata={"range": "[1, 100]"})
    # Detector model.
    # std of each box edge as a fraction of box width/height (fully visible person)
    det_jitter: float = field(default=0.04, metadata={"range": "[0, inf)"})
    det_miss_floor: float = field(default=0.03, metadata={"range": "[0, 1]"})  # miss rate of fully visible people
    # visibility at which half the people are detected
    det_vis50: float = field(default=0.3, metadata={"range": "[0, 1]"})
    det_fp_per_frame: float = field(default=1.0, metadata={"range": "[0, inf)"})  # mean false positives per frame
    # fraction of false positives that fire on textured scene objects
    det_fp_on_objects: float = field(default=0.5, metadata={"range": "[0, 1]"})
    # --- Added after the first release: part of the cache key only when not at their default, so every dataset
    # generated before keeps its hash and its bytes (see LATE_KEYS).
    # Chance that someone entering walks in step with a companion at a nearby depth (one hides the other for as long
    # as they walk together: long mutual occlusions, as in dense crowds).
    companion_prob: float = field(default=0.0, metadata={"range": "[0, 1]"})
    # Walking speeds are scaled by this (crowds walk slower).
    speed_scale: float = field(default=1.0, metadata={"range": "(0, inf)"})

    def __post_init__(self) -> None:
        checks = [
            (self.width >= 160 and self.height >= 90, "width/height must be at least 160x90"),
            (self.fps >= 1 and self.frames >= 1, "fps and frames must be positive"),
            (self.num_train >= 0 and self.num_val >= 0 and self.num_train + self.num_val >= 1,
             "need at least one sequence (num_train + num_val >= 1)"),
            (self.people >= 1, "people must be at least 1"),
            (0.05 <= self.far_height_frac < self.near_height_frac <= 0.8,
             "need 0.05 <= far_height_frac < near_height_frac <= 0.8"),
            (all(0.0 <= p <= 1.0 for p in (self.crossing_prob, self.stop_prob, self.standing_frac, self.lookalike_frac,
                                           self.det_miss_floor, self.det_vis50, self.det_fp_on_objects)),
             "probabilities and fractions must be in [0, 1]"),
            (self.lookalike_max_group >= 2, "lookalike_max_group must be at least 2"),
            (self.occluders >= 0 and self.det_fp_per_frame >= 0 and self.det_jitter >= 0, "counts must be >= 0"),
            (self.camera_jitter_px >= 0 and self.lighting_drift >= 0 and self.noise_std >= 0, "noise must be >= 0"),
            (1 <= self.jpeg_quality <= 100, "jpeg_quality must be in 1..100"),
            (0.0 <= self.companion_prob <= 1.0, "companion_prob must be in [0, 1]"),
            (0.2 <= self.speed_scale <= 3.0, "speed_scale must be in [0.2, 3]"),
        ]
        for ok, message in checks:
            if not ok:
                raise BenchError(f"bad synthetic dataset parameters: {message}")

    def to_dict(self) -> dict:
        """JSON-able dict of the parameters (the dataset cache key); late keys only when they are not at default."""
        d = asdict(self)
        for f in fields(self):
            if f.name in LATE_KEYS and d[f.name] == f.default:
                del d[f.name]
        return d

    def sequences(self) -> list[tuple[str, str]]:
        """[(sequence name, split)] in generation order: SYNTH-TRAIN-01.., then SYNTH-VAL-01.."""
        out = [(f"SYNTH-TRAIN-{i + 1:02d}", "train") for i in range(self.num_train)]
        out += [(f"SYNTH-VAL-{i + 1:02d}", "val") for i in range(self.num_val)]
        return out

    def id_stride(self) -> int:
        """Identity ids of sequence k (1-based) are k * id_stride + 1, 2, ...: unique across the dataset.

        At most one person enters per frame, so people + frames bounds the identities of one sequence.
        """
        return 10 ** len(str(self.people * 2 + self.frames + 1))


LATE_KEYS = ("companion_prob", "speed_scale")


def crowd_params() -> SynthParams:
    """The `synth-crowd` preset: MOT20-like density where appearance has to matter. About 45 people in view, smaller
    and slower, many walking in step with a companion (long mutual occlusions), many look-alike groups, and enough
    train sequences for 150+ training identities."""
    return SynthParams(
        num_train=4,
        num_val=2,
        frames=150,
        people=48,
        near_height_frac=0.34,
        far_height_frac=0.11,
        crossing_prob=0.4,
        stop_prob=0.006,
        standing_frac=0.25,
        lookalike_frac=0.6,
        lookalike_max_group=4,
        occluders=3,
        companion_prob=0.6,
        speed_scale=0.8,
    )
