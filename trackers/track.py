"""What ByteTrack and DeepSORT tracks have in common: an id, a score, and a Kalman state kept in stacked arrays.

A tracker owns one `KalmanStates`; each of its tracks owns one row of it (stored as a column: the stack is
component-major). Predicting or updating a list of tracks is then one batched call on their rows
(`trackers.kalman`), not one small matrix product per track, which is what made the trackers as slow as their
references. Life cycles differ between the trackers (ByteTrack's
tracked/lost/removed lists vs DeepSORT's tentative/confirmed/deleted counters), so each keeps its own subclass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trackers.kalman import KalmanFilter, tlwh_to_tlbr, xyah_to_tlwh


class KalmanStates:
    """Stacked Kalman states of one tracker, component-major: (24, capacity), column i is the state of row i
    (mean, then covariance blocks; see `trackers.kalman`), so each step works on contiguous component rows."""

    def __init__(self, kalman: KalmanFilter | None = None, capacity: int = 64) -> None:
        self.kalman = kalman if kalman is not None else KalmanFilter()
        self.state = np.zeros((24, capacity))
        self.size = 0  # rows in use: 0..size-1 (some may belong to dropped tracks until `compact`)

    def add(self, xyah: np.ndarray) -> range:
        """Initiate one state per (N, 4) measurement; returns the new rows."""
        new = self.kalman.initiate_columns(xyah)
        start, end = self.size, self.size + new.shape[1]
        if end > self.state.shape[1]:
            grown = np.zeros((24, max(end, 2 * self.state.shape[1])))
            grown[:, :start] = self.state[:, :start]
            self.state = grown
        self.state[:, start:end] = new
        self.size = end
        return range(start, end)

    def predict(self, rows: np.ndarray, left_first: bool = True) -> None:
        """Kalman-predict the given rows in place (each row at most once)."""
        self.kalman.predict_inplace(self.state, rows, left_first)

    def update(self, rows: np.ndarray, xyah: np.ndarray) -> None:
        """Kalman-update the given rows in place with one (x, y, a, h) measurement each ((len(rows), 4))."""
        self.kalman.update_inplace(self.state, rows, xyah)

    def gating_distance(self, rows: np.ndarray, xyah: np.ndarray) -> np.ndarray:
        return self.kalman.gating_distance_columns(self.state.take(rows, axis=1), xyah)

    def tlwh(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 4) left, top, w, h of the rows' Kalman boxes (the float operations of `xyah_to_tlwh`)."""
        return self._tlwh_columns(rows).T

    def tlbr(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), 4) x1, y1, x2, y2 of the rows' Kalman boxes (the float operations of per-track `tlwh`, then
        `tlwh_to_tlbr`)."""
        box = self._tlwh_columns(rows)
        box[2:] += box[:2]
        return box.T

    def _tlwh_columns(self, rows: np.ndarray) -> np.ndarray:
        box = self.state[:4].take(rows, axis=1)
        box[2] *= box[3]
        box[:2] -= box[2:] / 2
        return box

    def compact(self, live: Sequence[Track]) -> None:
        """Drop the rows of tracks no longer held (the `live` tracks are renumbered 0..n-1), once worth it."""
        if self.size <= 2 * len(live) + 64:
            return
        idx = rows_of(live)
        self.state[:, : len(idx)] = self.state.take(idx, axis=1)
        for i, track in enumerate(live):
            track.row = i
        self.size = len(idx)


@dataclass(eq=False, slots=True)
class Track:
    """One target: id, score of its last matched detection, and its row in the tracker's `KalmanStates`."""

    track_id: int
    score: float
    states: KalmanStates
    row: int

    @property
    def mean(self) -> np.ndarray:
        """(8,) Kalman mean (cx, cy, a, h, velocities): a view of the track's row of `states.state` (24 numbers:
        this mean, then the covariance blocks)."""
        return self.states.state[:8, self.row]

    @property
    def tlwh(self) -> np.ndarray:
        """Current box as left, top, w, h: the exact values the references print."""
        return xyah_to_tlwh(self.mean[:4])


def rows_of(tracks: Sequence[Track]) -> np.ndarray:
    return np.array([t.row for t in tracks], dtype=np.intp)


def tracks_xyah(tracks: Sequence[Track]) -> np.ndarray:
    """(M, 4) Kalman box means of one tracker's tracks (or of any objects with an (8,) `.mean`)."""
    if len(tracks) == 0:
        return np.zeros((0, 4))
    if isinstance(tracks[0], Track):  # a tracker's tracks: rows of its one `KalmanStates`
        return tracks[0].states.state[:4].take(rows_of(tracks), axis=1).T
    return np.array([t.mean[:4] for t in tracks], dtype=np.float64)


def tracks_tlbr(tracks: Sequence[Track]) -> np.ndarray:
    """(M, 4) x1, y1, x2, y2 of the tracks' Kalman boxes (same float operations as per-track `tlwh`)."""
    if tracks and isinstance(tracks[0], Track):
        return tracks[0].states.tlbr(rows_of(tracks))
    return tlwh_to_tlbr(xyah_to_tlwh(tracks_xyah(tracks)))


def output_rows(tracks: Sequence[Track]) -> np.ndarray:
    """(M, 6) x, y, w, h, track id, score: what `trackers.base.Tracker.update` returns."""
    result = np.zeros((len(tracks), 6), dtype=np.float64)
    if tracks:
        result[:, :4] = tracks[0].states.tlwh(rows_of(tracks))
        result[:, 4] = [t.track_id for t in tracks]
        result[:, 5] = [t.score for t in tracks]
    return result
