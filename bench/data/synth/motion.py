"""Pedestrian motion on the ground plane: walking with speed and heading changes, stops, entries and exits at
the image borders, and crossings built in by construction (people sent head-on along nearby lanes).

Everything is deterministic given the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.data.synth.geometry import Camera


@dataclass(frozen=True)
class MotionConfig:
    """How people walk. Speeds in m/s, probabilities per frame."""

    people: int = 12
    crossing_prob: float = 0.5
    stop_prob: float = 0.004
    standing_frac: float = 0.15
    speed_range: tuple[float, float] = (0.9, 1.7)
    stride_range: tuple[float, float] = (1.2, 1.5)  # metres per full walking cycle (two steps)
    max_drift_rad: float = 0.45  # largest heading angle away from walking along X
    retarget_prob: float = 0.012  # chance of a new heading/speed preference per frame
    turnaround_prob: float = 0.0015
    stop_seconds: tuple[float, float] = (1.0, 4.0)
    spawn_rate: float = 0.12  # chance per frame and missing person that someone enters
    lane_gap_m: tuple[float, float] = (0.35, 1.2)  # depth offset between head-on crossing partners
    companion_prob: float = 0.0  # chance that a new walker gets a companion walking in step beside/behind them
    companion_gap_m: tuple[float, float] = (0.3, 1.0)  # depth offset of a companion


@dataclass(frozen=True)
class Obstacle:
    """Ground footprint of a static scene object (people walk around it)."""

    x: float
    z: float
    half_w: float
    half_d: float


@dataclass(frozen=True)
class PersonState:
    """One person in one frame: ground position, walking phase (radians), facing (+1 right, -1 left)."""

    pid: int
    x: float
    z: float
    phase: float
    facing: int
    moving: bool


@dataclass(eq=False)
class _Walker:
    pid: int
    x: float
    z: float
    direction: int  # +1 walks towards +X, -1 towards -X
    drift: float  # heading angle away from the X axis (positive = away from the camera)
    drift_target: float
    speed: float
    pref_speed: float
    stride: float
    phase: float
    stop_left: int = 0
    facing: int = 1
    stopped_before: bool = False
    partners: list[int] = field(default_factory=list)
    leader: _Walker | None = None  # a companion copies its leader's heading, speed and stops


@dataclass
class MotionResult:
    frames: list[list[PersonState]]  # per frame (0-based), the people in the scene
    order: list[int]  # person ids in order of first appearance
    crossing_pairs: list[tuple[int, int]]  # pairs sent head-on at each other by construction
    companions: list[tuple[int, int]] = field(default_factory=list)  # (leader, companion) walking in step


class _Simulation:
    def __init__(self, cam: Camera, cfg: MotionConfig, fps: int, obstacles: list[Obstacle],
                 rng: np.random.Generator) -> None:
        self.cam, self.cfg, self.fps, self.obstacles, self.rng = cam, cfg, fps, obstacles, rng
        self.z_min = cam.z_near
        self.z_max = cam.z_far
        self.walkers: list[_Walker] = []
        self.next_pid = 1
        self.order: list[int] = []
        self.pairs: list[tuple[int, int]] = []
        self.companions: list[tuple[int, int]] = []

    # -- creation -------------------------------------------------------------------------------------------
    def _new(self, x: float, z: float, direction: int) -> _Walker:
        rng, cfg = self.rng, self.cfg
        speed = float(rng.uniform(*cfg.speed_range))
        drift = float(rng.uniform(-0.5, 0.5) * cfg.max_drift_rad)
        w = _Walker(pid=self.next_pid, x=x, z=z, direction=direction, drift=drift, drift_target=drift,
                    speed=speed, pref_speed=speed, stride=float(rng.uniform(*cfg.stride_range)),
                    phase=float(rng.uniform(0, 2 * math.pi)), facing=direction)
        self.next_pid += 1
        self.order.append(w.pid)
        self.walkers.append(w)
        return w

    def _free_depth(self, x: float, z: float) -> float:
        """Move z out of any obstacle footprint (people never start inside a crate)."""
        for ob in self.obstacles:
            if abs(x - ob.x) < ob.half_w + 0.3 and abs(z - ob.z) < ob.half_d + 0.3:
                lo, hi = ob.z - ob.half_d - 0.35, ob.z + ob.half_d + 0.35
                z = lo if (z - lo < hi - z and lo > self.z_min) or hi > self.z_max else hi
        return float(np.clip(z, self.z_min, self.z_max))

    def _entry_x(self, z: float, direction: int) -> float:
        """Just outside the image border that a walker with this direction enters from."""
        return -direction * (self.cam.half_view_x(z) + 0.45)

    def populate(self) -> None:
        rng, cfg = self.rng, self.cfg
        n = cfg.people
        while len(self.walkers) < n:
            z = float(rng.uniform(self.z_min, self.z_max))
            half = self.cam.half_view_x(z)
            direction = 1 if rng.random() < 0.5 else -1
            if len(self.walkers) + 2 <= n and rng.random() < cfg.crossing_prob:
                # A pair on nearby lanes walking towards each other: they cross within a couple of seconds.
                gap = float(rng.uniform(*cfg.lane_gap_m)) * (1 if rng.random() < 0.5 else -1)
                z2 = float(np.clip(z + gap, self.z_min, self.z_max))
                sep = float(rng.uniform(1.5, 4.0))
                xc = float(rng.uniform(-0.5, 0.5) * half)
                a = self._new(xc - direction * sep / 2, self._free_depth(xc, z), direction)
                b = self._new(xc + direction * sep / 2, self._free_depth(xc, z2), -direction)
                a.drift = a.drift_target = b.drift = b.drift_target = 0.0
                self.pairs.append((a.pid, b.pid))
                continue
            w = self._new(float(rng.uniform(-0.9, 0.9) * half), 0.0, direction)
            w.z = self._free_depth(w.x, z)
            if rng.random() < cfg.standing_frac:
                w.stop_left = int(rng.uniform(2.0, 6.0) * self.fps)
            if cfg.companion_prob > 0 and len(self.walkers) < n and rng.random() < cfg.companion_prob:
                self._companion(w)

    def maybe_spawn(self) -> None:
        rng, cfg = self.rng, self.cfg
        missing = cfg.people - len(self.walkers)
        if missing <= 0 or rng.random() > cfg.spawn_rate * missing:
            return
        candidates = [w for w in self.walkers if w.stop_left == 0 and abs(w.x) < self.cam.half_view_x(w.z) * 0.6]
        if candidates and rng.random() < cfg.crossing_prob:
            target = candidates[int(rng.integers(len(candidates)))]
            gap = float(rng.uniform(*cfg.lane_gap_m)) * (1 if rng.random() < 0.5 else -1)
            z = float(np.clip(target.z + gap, self.z_min, self.z_max))
            direction = -target.direction
            w = self._new(self._entry_x(z, direction), z, direction)
            w.drift = w.drift_target = 0.0
            self.pairs.append((target.pid, w.pid))
            return
        z = float(rng.uniform(self.z_min, self.z_max))
        direction = 1 if rng.random() < 0.5 else -1
        w = self._new(self._entry_x(z, direction), z, direction)
        if cfg.companion_prob > 0 and missing >= 2 and rng.random() < cfg.companion_prob:
            self._companion(w)

    def _companion(self, leader: _Walker) -> _Walker:
        """Someone walking in step with `leader`: a little ahead or behind along the way and at a nearby depth, so
        that in the image one hides part of the other for as long as they walk together."""
        rng, cfg = self.rng, self.cfg
        gap = float(rng.uniform(*cfg.companion_gap_m)) * (1 if rng.random() < 0.5 else -1)
        z = float(np.clip(leader.z + gap, self.z_min, self.z_max))
        x = leader.x + float(rng.uniform(-0.4, 0.4))
        w = self._new(x, self._free_depth(x, z), leader.direction)
        w.leader = leader
        w.stop_left = leader.stop_left
        self.companions.append((leader.pid, w.pid))
        return w

    # -- dynamics -------------------------------------------------------------------------------------------
    def _steer_around(self, w: _Walker, vx: float) -> None:
        """If an obstacle lies ahead within ~1.5 s, aim away from its depth band."""
        look = vx * 1.5
        for ob in self.obstacles:
            ahead = (ob.x - w.x) * np.sign(vx) if vx != 0 else -1.0
            if 0 <= ahead <= abs(look) + ob.half_w + 0.3 and abs(w.z - ob.z) < ob.half_d + 0.45:
                away = 1.0 if w.z >= ob.z else -1.0
                if (away > 0 and w.z > self.z_max - 0.5) or (away < 0 and w.z < self.z_min + 0.5):
                    away = -away
                w.drift_target = away * self.cfg.max_drift_rad * 1.4

    def step(self) -> None:
        rng, cfg, dt = self.rng, self.cfg, 1.0 / self.fps
        for w in self.walkers:
            if w.leader is not None:
                self._follow(w, dt)
                continue
            if w.stop_left > 0:
                w.stop_left -= 1
                continue
            if rng.random() < cfg.stop_prob:
                w.stop_left = int(rng.uniform(*cfg.stop_seconds) * self.fps)
                continue
            if rng.random() < cfg.retarget_prob:
                w.drift_target = float(rng.uniform(-1, 1) * cfg.max_drift_rad)
                w.pref_speed = float(np.clip(w.pref_speed * rng.uniform(0.75, 1.3), *cfg.speed_range))
            if rng.random() < cfg.turnaround_prob and abs(w.x) < self.cam.half_view_x(w.z) * 0.7:
                w.direction = -w.direction
            # Keep within the walkable depth band.
            if w.z < self.z_min + 0.3:
                w.drift_target = abs(w.drift_target) + 0.1
            elif w.z > self.z_max - 0.3:
                w.drift_target = -abs(w.drift_target) - 0.1
            self._steer_around(w, w.direction * w.speed)
            w.drift += 0.08 * (w.drift_target - w.drift) + float(rng.normal(0, 0.01))
            w.drift = float(np.clip(w.drift, -1.2, 1.2))
            w.speed += 0.05 * (w.pref_speed - w.speed) + float(rng.normal(0, 0.02))
            w.speed = float(np.clip(w.speed, 0.5, 2.2))
            dist = w.speed * dt
            w.x += w.direction * math.cos(w.drift) * dist
            w.z = float(np.clip(w.z + math.sin(w.drift) * dist, self.z_min, self.z_max))
            w.phase = (w.phase + 2 * math.pi * dist / w.stride) % (2 * math.pi)
            w.facing = w.direction

    def _follow(self, w: _Walker, dt: float) -> None:
        """A companion moves as its leader did this step (leaders come first in the list); once the leader has left
        the scene, the companion walks on alone."""
        lead = w.leader
        if lead not in self.walkers:
            w.leader = None
            w.drift_target, w.pref_speed = lead.drift_target, lead.pref_speed
            return
        w.stop_left, w.direction, w.drift, w.speed = lead.stop_left, lead.direction, lead.drift, lead.speed
        if w.stop_left > 0:
            return
        dist = w.speed * dt
        w.x += w.direction * math.cos(w.drift) * dist
        w.z = float(np.clip(w.z + math.sin(w.drift) * dist, self.z_min, self.z_max))
        w.phase = (w.phase + 2 * math.pi * dist / w.stride) % (2 * math.pi)
        w.facing = w.direction

    def remove_exited(self) -> None:
        keep = []
        for w in self.walkers:
            outside = abs(w.x) > self.cam.half_view_x(w.z) + 0.6
            leaving = np.sign(w.x) == w.direction
            if not (outside and leaving):
                keep.append(w)
        self.walkers = keep

    def snapshot(self) -> list[PersonState]:
        return [PersonState(w.pid, w.x, w.z, w.phase, w.facing, w.stop_left == 0) for w in self.walkers]


def simulate(cam: Camera, cfg: MotionConfig, num_frames: int, fps: int, obstacles: list[Obstacle],
             rng: np.random.Generator) -> MotionResult:
    """Walk people for `num_frames` frames; the scene starts full and entries replace exits."""
    sim = _Simulation(cam, cfg, fps, obstacles, rng)
    sim.populate()
    frames: list[list[PersonState]] = []
    for _ in range(num_frames):
        frames.append(sim.snapshot())
        sim.step()
        sim.remove_exited()
        sim.maybe_spawn()
    return MotionResult(frames=frames, order=sim.order, crossing_pairs=sim.pairs, companions=sim.companions)
