"""DeepSORT (Wojke, Bewley and Paulus, ICIP 2017), following the reference nwojke/deep_sort.

Per frame (read `DeepSORT.update` top to bottom):
1. drop detections below `min_confidence` (and shorter than `min_detection_height`; optional NMS), as the
   reference's deep_sort_app does before calling its tracker;
2. predict every track one frame ahead with the constant-velocity Kalman filter of `trackers.kalman` (one
   batched call on the tracker's stacked states, bit-identical to the reference's per-track predict);
3. matching cascade over confirmed tracks, one level per time since update (1, 2, ..., max_age), so a track
   seen more recently gets first pick. The cost is the smallest cosine distance between a detection's feature
   and the track's gallery of past features (the last `nn_budget`), set to INFTY_COST where the detection lies
   outside the track's Mahalanobis gate (chi-square 95% bound, 4 dof); pairs above `max_cosine_distance` stay
   unmatched;
4. IoU matching (1 - IoU <= `max_iou_distance`) of the leftovers against tentative tracks and the confirmed
   tracks missed for exactly this frame;
5. matched tracks take a Kalman update, append the feature to their gallery and are confirmed at `n_init` hits;
   a tentative track that misses is deleted, a confirmed one once `time_since_update > max_age`;
6. every unmatched detection starts a tentative track.

Deliberate details and differences from the reference:
- Assignment is `matching.linear_assignment` (lapjv with a cost limit). The reference clips costs above the
  threshold to threshold + 1e-5, solves a full Hungarian assignment and drops the clipped pairs; both minimise
  the same objective up to that 1e-5 and ties.
- IoU has no +1 pixel offset (`matching.iou(..., offset=0.0)`), as the reference's `iou_matching.iou`; ByteTrack
  uses the +1 convention of cython_bbox, which DeepSORT does not.
- As in the reference, a confirmed track can be re-found only while `time_since_update <= max_age` after the
  prediction (the cascade has max_age levels), i.e. after at most max_age - 1 missed frames; it is deleted at
  its (max_age + 1)-th miss.
- `n_init <= 1` confirms a track at birth; the reference only confirms inside an update, so n_init 1 behaves
  there like n_init 2.
- Output: confirmed tracks with `time_since_update <= output_max_time_since_update`. The default 0 reports only
  tracks matched in this frame (like ByteTrack, so the two are scored alike and every row carries the score of
  the detection it was matched to); deep_sort_app writes `<= 1`, i.e. also one predicted box after a miss, which
  `output_max_time_since_update=1` reproduces (such a row carries the last matched score).
- The box reported is the track's Kalman state after the update as left, top, width, height (the reference's
  `to_tlwh()`, and the `trackers.base.Tracker` output convention), not the detection.
- FrameDetections keep their input order unless NMS is on (`nms_max_overlap < 1`); deep_sort_app always runs its
  NMS, which, even when it suppresses nothing, reorders detections by descending score. Only the numbering of
  new track ids can differ because of that.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from trackers.association import FrameDetections
from trackers.configs import DeepSORTConfig
from trackers.kalman import KalmanFilter, tlwh_to_xyah
from trackers.matching import cosine_distance, iou, linear_assignment
from trackers.track import KalmanStates, output_rows, rows_of, tracks_tlbr
from trackers.track import Track as KalmanTrack

# Cost of a pair outside the Mahalanobis gate (reference linear_assignment.INFTY_COST): far above any threshold.
INFTY_COST = 1e5


class TrackState(IntEnum):
    TENTATIVE = 1
    CONFIRMED = 2
    DELETED = 3


@dataclass(eq=False, slots=True)
class Track(KalmanTrack):
    """One target: Kalman state (a row of the tracker's stacked states), the appearance gallery, and the
    counters that drive confirmation and deletion. `score` is that of the last detection matched to it."""

    gallery: deque[np.ndarray] = field(default_factory=deque)  # matched features, oldest first, <= nn_budget
    hits: int = 1
    age: int = 1
    time_since_update: int = 0
    state: TrackState = TrackState.TENTATIVE

    @property
    def feature(self) -> np.ndarray:
        """The latest appearance feature (what single-feature stage costs read)."""
        return self.gallery[-1]


def non_max_suppression(tlwh: np.ndarray, scores: np.ndarray, max_overlap: float) -> np.ndarray:
    """Greedy NMS as deep_sort_app's preprocessing → kept indices, highest score first.

    Its overlap is not IoU: it is the intersection over the area of the lower-scored box (+1 pixel areas, in
    float32), and a box is suppressed when that exceeds `max_overlap`, so 1.0 suppresses nothing.
    """
    boxes = np.asarray(tlwh, dtype=np.float32).reshape(-1, 4)
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = boxes[:, 2] + x1, boxes[:, 3] + y1
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    remaining = np.argsort(np.asarray(scores))  # ascending: the best box is last
    kept: list[int] = []
    while len(remaining) > 0:
        best, rest = remaining[-1], remaining[:-1]
        kept.append(int(best))
        w = np.maximum(0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        remaining = rest[(w * h) / area[rest] <= max_overlap]
    return np.asarray(kept, dtype=np.int64)


class DeepSORT:
    """SORT's Kalman tracker with an appearance-first matching cascade (see the module docstring)."""


    def __init__(self, config: DeepSORTConfig | None = None, frame_rate: float = 30) -> None:
        self.config = config = config if config is not None else DeepSORTConfig()
        # Accepted so the harness builds every tracker alike; the reference has no frame-rate dependence
        # (max_age counts frames), so neither does this.
        self.frame_rate = frame_rate
        self.states = KalmanStates(KalmanFilter())
        self.tracks: list[Track] = []
        self._last_id = 0
        self._feature_dim: int | None = None

    def update(self, dets: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """One frame: (N, 5) x1, y1, x2, y2, score and (N, D) features → (M, 6) x, y, w, h, id, score."""
        cfg = self.config
        detections = self._select_detections(*self._checked_inputs(dets, features))

        # 1. Predict every track to this frame.
        self.states.predict(rows_of(self.tracks), left_first=False)
        for track in self.tracks:
            track.age += 1
            track.time_since_update += 1

        # 2. Matching cascade: confirmed tracks by gated appearance cost, most recently updated first.
        confirmed = [t for t in self.tracks if t.state == TrackState.CONFIRMED]
        unmatched_dets = np.arange(len(detections))
        matches: list[tuple[Track, int]] = []
        for level in range(1, cfg.max_age + 1):
            if len(unmatched_dets) == 0:
                break
            level_tracks = [t for t in confirmed if t.time_since_update == level]
            if not level_tracks:
                continue
            cost = self._gated_appearance_cost(level_tracks, detections.subset(unmatched_dets))
            pairs, _, left = linear_assignment(cost, cfg.max_cosine_distance)
            matches += [(level_tracks[it], int(unmatched_dets[idet])) for it, idet in pairs]
            unmatched_dets = unmatched_dets[left]

        # 3. IoU matching: tentative tracks and confirmed tracks that missed only this frame. (The reference
        # also gives tracks with time_since_update > 1 an infinite IoU cost; none reach this stage.)
        matched = {t for t, _ in matches}
        candidates = [t for t in self.tracks if t.state == TrackState.TENTATIVE] + [
            t for t in confirmed if t not in matched and t.time_since_update == 1
        ]
        pairs, _, left = linear_assignment(self._iou_cost(candidates, detections.subset(unmatched_dets)),
                                           cfg.max_iou_distance)
        matches += [(candidates[it], int(unmatched_dets[idet])) for it, idet in pairs]
        unmatched_dets = unmatched_dets[left]

        # 4. Measurement update of the matched tracks; confirmation after n_init hits.
        self._apply_detections([t for t, _ in matches], detections, np.array([i for _, i in matches], dtype=np.intp))

        # 5. Misses: a tentative track dies at once, a confirmed one after max_age frames unseen.
        matched = {t for t, _ in matches}
        for track in self.tracks:
            if track in matched:
                continue
            if track.state == TrackState.TENTATIVE or track.time_since_update > cfg.max_age:
                track.state = TrackState.DELETED

        # 6. Every unmatched detection starts a tentative track.
        self.tracks = [t for t in self.tracks if t.state != TrackState.DELETED] + self._new_tracks(detections,
                                                                                                   unmatched_dets)
        self.states.compact(self.tracks)

        return self._report()

    def _checked_inputs(self, dets: np.ndarray, features: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """DeepSORT without appearance is a different tracker: refuse missing or misaligned features."""
        dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
        if features is None:
            raise ValueError("DeepSORT needs appearance features for every detection (got features=None)")
        features = np.array(features, dtype=np.float32)  # a copy: galleries must not alias the caller's buffer
        if len(dets) == 0 and features.size == 0:
            return dets, features.reshape(0, self._feature_dim or 0)
        if features.ndim != 2 or len(features) != len(dets):
            raise ValueError(
                f"features must be (N, D) row-aligned with the {len(dets)} detections, got shape {features.shape}"
            )
        if self._feature_dim is None:
            self._feature_dim = features.shape[1]
        elif features.shape[1] != self._feature_dim:
            raise ValueError(f"feature dimension changed from {self._feature_dim} to {features.shape[1]}")
        return dets, features

    def _select_detections(self, dets: np.ndarray, features: np.ndarray) -> FrameDetections:
        """deep_sort_app's preprocessing: minimum height, minimum confidence, then (optionally) NMS."""
        cfg = self.config
        keep = (dets[:, 3] - dets[:, 1] >= cfg.min_detection_height) & (dets[:, 4] >= cfg.min_confidence)
        detections = FrameDetections.from_tlbr(dets[keep, :4], dets[keep, 4], features[keep])
        if cfg.nms_max_overlap < 1.0 and len(detections) > 0:
            detections = detections.subset(non_max_suppression(detections.tlwh, detections.scores,
                                                               cfg.nms_max_overlap))
        return detections

    def _gated_appearance_cost(self, tracks: list[Track], dets: FrameDetections) -> np.ndarray:
        """Tracks × detections: min cosine distance to each track's gallery, INFTY_COST outside the Kalman gate."""
        assert dets.features is not None
        cost = np.stack([cosine_distance(np.asarray(t.gallery), dets.features).min(axis=0) for t in tracks])
        gate = self.states.gating_distance(rows_of(tracks), tlwh_to_xyah(dets.tlwh))
        cost[gate > self.config.gating_threshold] = INFTY_COST
        return cost

    def _iou_cost(self, tracks: list[Track], dets: FrameDetections) -> np.ndarray:
        """Tracks × detections: 1 - IoU of the predicted track boxes and the detections."""
        return 1.0 - iou(tracks_tlbr(tracks), dets.tlbr, offset=0.0)

    def _apply_detections(self, tracks: list[Track], dets: FrameDetections, idx: np.ndarray) -> None:
        """Kalman-update each tracks[k] with detection idx[k] (one batched step), then count the hit."""
        self.states.update(rows_of(tracks), tlwh_to_xyah(dets.tlwh[idx]))
        for track, i in zip(tracks, idx.tolist()):
            track.gallery.append(dets.features[i])
            track.score = float(dets.scores[i])
            track.hits += 1
            track.time_since_update = 0
            if track.state == TrackState.TENTATIVE and track.hits >= self.config.n_init:
                track.state = TrackState.CONFIRMED

    def _new_tracks(self, dets: FrameDetections, idx: np.ndarray) -> list[Track]:
        rows = self.states.add(tlwh_to_xyah(dets.tlwh[idx]))
        state = TrackState.CONFIRMED if self.config.n_init <= 1 else TrackState.TENTATIVE
        tracks = []
        for i, row in zip(idx.tolist(), rows):
            self._last_id += 1
            gallery: deque[np.ndarray] = deque([dets.features[i]], maxlen=self.config.nn_budget)
            tracks.append(Track(track_id=self._last_id, score=float(dets.scores[i]), states=self.states, row=row,
                                gallery=gallery, state=state))
        return tracks

    def _report(self) -> np.ndarray:
        """Confirmed tracks updated recently enough: Kalman box as x, y, w, h (the reference's `to_tlwh()`, what
        `trackers.base.Tracker` returns), id, and the last matched detection's score."""
        return output_rows([
            t for t in self.tracks
            if t.state == TrackState.CONFIRMED and t.time_since_update <= self.config.output_max_time_since_update
        ])
