"""ByteTrack (Zhang et al., ECCV 2022), reproducing ifzhang/ByteTrack `yolox/tracker/byte_tracker.py` exactly.

Given the same detections, the boxes, scores and the partition of boxes into tracks equal the reference's
(checked against its output on real MOT15 detections in tests/test_bytetrack.py). That includes its quirks,
kept on purpose because they change outputs:
- the list bookkeeping (tracked / lost / removed lists merged and subtracted by track id, in that order), so a
  lost track removed for age stays in the lost pool one more frame and can still be re-found then; and a
  track id once removed is dropped from the lost list whenever it is lost again;
- tracks started after frame 1 are "unconfirmed" (not output, not predicted) until matched once more;
- lost tracks are predicted with their height velocity zeroed;
- assignment by lapjv with a cost limit, IoU with the +1 pixel convention, score-fused IoU (non-MOT20).
Unlike the reference there is no global id counter: ids count from 1 per tracker instance.

Speed (benchmarks/bytetrack_fps.py): tracks are Python objects only for the list bookkeeping; their Kalman
states are columns of one component-major stack (`trackers.track.KalmanStates`), predicted once per frame and
updated once per frame (all three stages' matches together: no stage reads a state another updated). One IoU
matrix per frame serves all three stages; lapjv is skipped where the assignment is forced
(`matching.linear_assignment`); the Kalman steps and the duplicate check run as compiled per-track loops (numba:
`kalman._predict_kernel`, `kalman._update_kernel`, `duplicate_pairs`), because with ~10 tracks a frame numpy's
per-call cost, not the arithmetic, would be most of the time. All exact rewrites, not approximations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numba import njit

from trackers.association import AssociationStage, CostFn, FrameDetections, iou_cost, score_fused_iou_cost
from trackers.configs import ByteTrackConfig
from trackers.kalman import KalmanFilter
from trackers.matching import iou_distance, pair_iou
from trackers.track import KalmanStates, output_rows, rows_of
from trackers.track import Track as KalmanTrack


class TrackState(IntEnum):
    NEW = 0
    TRACKED = 1
    LOST = 2
    REMOVED = 3


@dataclass(eq=False, slots=True)
class Track(KalmanTrack):
    """One tracklet: Kalman state (a row of the tracker's stacked states) plus ByteTrack's list bookkeeping."""

    start_frame: int = 0
    frame_id: int = 0
    state: TrackState = TrackState.TRACKED
    is_activated: bool = False
    tracklet_len: int = 0
    feature: np.ndarray | None = None


@njit("UniTuple(float64, 4)(float64[:, :], int64)", cache=True)
def _kalman_tlbr(state: np.ndarray, row: int) -> tuple[float, float, float, float]:
    """x1, y1, x2, y2 of one Kalman mean, with the float operations of `KalmanStates.tlbr`."""
    w = state[2, row] * state[3, row]
    h = state[3, row]
    x1 = state[0, row] - w / 2
    y1 = state[1, row] - h / 2
    return x1, y1, w + x1, h + y1


@njit("int64[:, :](float64[:, :], int64[:], int64[:], float64)", cache=True)
def duplicate_pairs(state: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, dist: float) -> np.ndarray:
    """(K, 2) pairs [i, j] of rows_a[i], rows_b[j] of a (24, capacity) Kalman stack whose boxes have
    1 - IoU < `dist`, in row-major order: `iou_distance(tlbr(rows_a), tlbr(rows_b)) < dist`, bit for bit (the same
    box and IoU arithmetic per pair), compiled (at import, see `trackers.kalman`) because a frame has only ~10 × 5
    pairs and numpy would spend its time on per-call overhead."""
    pairs = np.empty((rows_a.shape[0] * rows_b.shape[0], 2), dtype=np.int64)
    n = 0
    for i in range(rows_a.shape[0]):
        box_a = _kalman_tlbr(state, rows_a[i])
        for j in range(rows_b.shape[0]):
            if 1 - pair_iou(box_a, _kalman_tlbr(state, rows_b[j]), 1.0) < dist:
                pairs[n, 0], pairs[n, 1] = i, j
                n += 1
    return pairs[:n]


def _joint(a: list[Track], b: list[Track]) -> list[Track]:
    """a followed by the tracks of b whose id is not already present (reference joint_stracks)."""
    seen = {t.track_id for t in a}
    out = list(a)
    for t in b:
        if t.track_id not in seen:
            seen.add(t.track_id)
            out.append(t)
    return out


def _without_ids(a: list[Track], ids: set[int]) -> list[Track]:
    """a minus the tracks whose id is in ids, order kept (reference sub_stracks)."""
    return [t for t in a if t.track_id not in ids]


class ByteTrack:
    """Two-stage association of high- then low-score detections to Kalman-predicted tracks."""


    def __init__(self, config: ByteTrackConfig | None = None, frame_rate: float = 30,
                 first_stage_cost: CostFn | None = None) -> None:
        self.config = config = config if config is not None else ByteTrackConfig()
        self.states = KalmanStates(KalmanFilter())
        self.frame_id = 0
        self.det_thresh = config.track_thresh + config.new_track_thresh_offset
        self.max_time_lost = int(frame_rate / 30.0 * config.track_buffer)
        motion_cost: CostFn = iou_cost if config.mot20 else score_fused_iou_cost
        # The stages are attributes so variants (e.g. FineTrack) can swap a cost function.
        self.first_stage = AssociationStage(first_stage_cost or motion_cost, config.match_thresh, "high")
        self.second_stage = AssociationStage(iou_cost, config.second_match_thresh, "low")
        self.unconfirmed_stage = AssociationStage(motion_cost, config.unconfirmed_match_thresh, "unconfirmed")
        self.tracked: list[Track] = []
        self.lost: list[Track] = []
        self.removed_ids: set[int] = set()
        self._last_id = 0

    def _next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def _absorb_feature(self, track: Track, feature: np.ndarray | None) -> None:
        """Keep the latest detection feature on the track (ByteTrack never reads it; variants may)."""
        if feature is not None:
            track.feature = feature

    def _observe(self, tracks: list[Track], dets: FrameDetections, idx: list[int]) -> None:
        """Kalman-update each tracks[k] with detection idx[k] (one batched step) and mark it tracked."""
        if not tracks:
            return
        self.states.update(rows_of(tracks), dets.xyah[idx])
        for track, i, score in zip(tracks, idx, dets.scores[idx].tolist()):
            track.score = score
            track.frame_id = self.frame_id
            track.state = TrackState.TRACKED
            track.is_activated = True
            if dets.features is not None:
                self._absorb_feature(track, dets.features[i])

    def _predict(self, rows: np.ndarray, tracks: list[Track]) -> None:
        """One batched Kalman prediction; tracks not currently tracked get their height velocity zeroed first."""
        not_tracked = [t.row for t in tracks if t.state != TrackState.TRACKED]
        if not_tracked:
            self.states.state[7, not_tracked] = 0
        self.states.predict(rows)

    def update(self, dets: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """One frame: (N, 5) x1, y1, x2, y2, score (+ optional (N, D) features) → (M, 6) x, y, w, h, id, score."""
        cfg = self.config
        self.frame_id += 1
        dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
        scores = dets[:, 4]
        high = np.nonzero(scores > cfg.track_thresh)[0]
        low = np.nonzero((scores > cfg.low_thresh) & (scores < cfg.track_thresh))[0]
        keep = np.concatenate([high, low])
        # FrameDetections used this frame, high-score ones first: indices :n_high are the high, n_high: the low ones.
        # Every stage below names detections by their index in `used`.
        feats = None if features is None else np.asarray(features)[keep]
        used = FrameDetections.from_tlbr(dets[keep, :4], scores[keep], feats)
        n_high = len(high)

        activated: list[Track] = []
        refound: list[Track] = []
        newly_lost: list[Track] = []
        newly_removed: list[Track] = []
        # Matched tracks and their detections: all take one batched Kalman update after the three stages
        # (no stage reads a state another stage updated: costs come from the predicted boxes).
        observed: list[Track] = []
        observed_det: list[int] = []

        # Tracks started after frame 1 stay unconfirmed until they are matched once more.
        unconfirmed = [t for t in self.tracked if not t.is_activated]
        confirmed = [t for t in self.tracked if t.is_activated]

        # Stage 1: confirmed + lost tracks (Kalman-predicted) vs high-score detections.
        pool = _joint(confirmed, self.lost)
        n_pool = len(pool)
        rows = rows_of(pool + unconfirmed)
        self._predict(rows[:n_pool], pool)
        # 1 - IoU of every pair the three stages can form (rows: pool, then unconfirmed), computed once.
        iou_dist = iou_distance(self.states.tlbr(rows), used.tlbr)
        matches, unmatched_pool, left = self.first_stage.match(
            pool, used.subset(slice(0, n_high)), iou_dist[:n_pool, :n_high])
        for it, idet in matches.tolist():
            track = pool[it]
            if track.state == TrackState.TRACKED:
                track.tracklet_len += 1
                activated.append(track)
            else:
                track.tracklet_len = 0
                refound.append(track)
            observed.append(track)
            observed_det.append(idet)

        # Stage 2: still-tracked leftovers vs low-score detections, plain IoU.
        remaining_idx = [i for i in unmatched_pool.tolist() if pool[i].state == TrackState.TRACKED]
        remaining = [pool[i] for i in remaining_idx]
        matches, unmatched_remaining, _ = self.second_stage.match(
            remaining, used.subset(slice(n_high, None)), iou_dist[remaining_idx, n_high:])
        for it, idet in matches.tolist():
            track = remaining[it]
            track.tracklet_len += 1
            activated.append(track)
            observed.append(track)
            observed_det.append(n_high + idet)
        for it in unmatched_remaining.tolist():
            track = remaining[it]
            if track.state != TrackState.LOST:
                track.state = TrackState.LOST
                newly_lost.append(track)

        # Stage 3: unconfirmed tracks (not predicted) vs the high-score detections `left` over from stage 1.
        if unconfirmed:
            matches, unmatched_unconfirmed, unmatched_left = self.unconfirmed_stage.match(
                unconfirmed, used.subset(left), iou_dist[n_pool:, left])
            for it, idet in matches.tolist():
                track = unconfirmed[it]
                track.tracklet_len += 1
                activated.append(track)
                observed.append(track)
                observed_det.append(int(left[idet]))
            for it in unmatched_unconfirmed.tolist():
                track = unconfirmed[it]
                track.state = TrackState.REMOVED
                newly_removed.append(track)
            left = left[unmatched_left]
        self._observe(observed, used, observed_det)

        # Stage 4: confident leftovers start new tracks (confirmed at once only on the first frame).
        new = left[used.scores[left] >= self.det_thresh].tolist()
        new_rows = self.states.add(used.xyah[new]) if new else ()
        for idet, row in zip(new, new_rows):
            activated.append(Track(track_id=self._next_id(), score=float(used.scores[idet]), states=self.states,
                                   row=row, start_frame=self.frame_id, frame_id=self.frame_id,
                                   is_activated=self.frame_id == 1, feature=used.feature(idet)))

        # Stage 5: age out lost tracks, then rebuild the lists exactly as the reference does.
        for track in self.lost:
            if self.frame_id - track.frame_id > self.max_time_lost:
                track.state = TrackState.REMOVED
                newly_removed.append(track)

        self.tracked = [t for t in self.tracked if t.state == TrackState.TRACKED]
        self.tracked = _joint(self.tracked, activated)
        self.tracked = _joint(self.tracked, refound)
        self.lost = _without_ids(self.lost, {t.track_id for t in self.tracked})
        self.lost.extend(newly_lost)
        # Only ids removed in *earlier* frames are subtracted here (reference order).
        self.lost = _without_ids(self.lost, self.removed_ids)
        self.removed_ids.update(t.track_id for t in newly_removed)
        self.tracked, self.lost = self._remove_duplicates(self.tracked, self.lost)

        self.states.compact(self.tracked + self.lost)
        return output_rows(self.output_tracks())

    def output_tracks(self) -> list[Track]:
        """The tracks `update()` reported for the current frame (tracked and activated), in output order.

        Their `tlwh` is what the reference writes and what `update()` returns (recomputing w as x2 - x1 would
        differ in the last bit, visible after rounding to 2 decimals in about 1 box in 6000).
        """
        return [t for t in self.tracked if t.is_activated]

    def _remove_duplicates(self, tracked: list[Track], lost: list[Track]) -> tuple[list[Track], list[Track]]:
        """Where a tracked and a lost track overlap (1 - IoU < 0.15), drop the younger of the two."""
        if not tracked or not lost:
            return tracked, lost
        drop_tracked: set[int] = set()
        drop_lost: set[int] = set()
        pairs = duplicate_pairs(self.states.state, rows_of(tracked), rows_of(lost), self.config.duplicate_iou_dist)
        for i, j in pairs.tolist():
            if tracked[i].frame_id - tracked[i].start_frame > lost[j].frame_id - lost[j].start_frame:
                drop_lost.add(j)
            else:
                drop_tracked.add(i)
        return (
            [t for i, t in enumerate(tracked) if i not in drop_tracked],
            [t for i, t in enumerate(lost) if i not in drop_lost],
        )
