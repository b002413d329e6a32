"""ByteTrack must reproduce the reference implementation's output on real MOT15 detections, box for box."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from bench.data.mot_io import read_detections, split_by_frame
from trackers.association import AssociationStage, FrameDetections, iou_cost, motion_distance
from trackers.base import filter_output
from trackers.bytetrack import ByteTrack, TrackState
from trackers.configs import ByteTrackConfig
from trackers.kalman import KalmanFilter, tlwh_to_xyah
from trackers.matching import cosine_distance, fuse_score, iou, linear_assignment

DATA = Path(__file__).resolve().parent / "data"
SEQUENCES = ["ADL-Rundle-6", "ETH-Pedcross2", "KITTI-17", "PETS09-S2L1", "TUD-Campus"]


def _fmt(tlwh: np.ndarray, score: float) -> str:
    return f"{tlwh[0]:.2f},{tlwh[1]:.2f},{tlwh[2]:.2f},{tlwh[3]:.2f},{score:.2f}"


def _run_sequence(seq: str) -> list[tuple[int, int, str]]:
    """(frame, id, 'x,y,w,h,score') rows as the reference writes them (tlwh of the tracker state, 2 decimals)."""
    dets = read_detections(DATA / "mot15-dets" / seq / "det" / "det.txt")
    frames = split_by_frame(dets, int(dets[:, 0].max()))
    tracker = ByteTrack(ByteTrackConfig(), frame_rate=30)
    rows = []
    for frame, frame_dets in enumerate(frames, start=1):
        out = tracker.update(frame_dets)
        by_id = {t.track_id: t for t in tracker.output_tracks()}
        assert len(by_id) == len(out)
        for r in out:  # the protocol output is the tracks' tlwh, bit for bit (what the reference writes)
            np.testing.assert_array_equal(r[:4], by_id[int(r[4])].tlwh)
        for r in filter_output(out, min_box_area=100, aspect_ratio_thresh=1.6):
            rows.append((frame, int(r[4]), _fmt(r[:4], r[5])))
    return rows


def _read_reference(seq: str) -> list[tuple[int, int, str]]:
    rows = []
    for line in (DATA / "bytetrack-reference" / f"{seq}.txt").read_text().split():
        p = line.split(",")
        rows.append((int(p[0]), int(p[1]), ",".join(p[2:7])))
    return rows


@pytest.mark.parametrize("seq", SEQUENCES)
def test_matches_reference_output(seq: str) -> None:
    mine, ref = _run_sequence(seq), _read_reference(seq)
    assert len(mine) == len(ref)

    # Same boxes (and scores) in every frame.
    mine_frames: dict[int, Counter] = defaultdict(Counter)
    ref_frames: dict[int, Counter] = defaultdict(Counter)
    for f, _, box in mine:
        mine_frames[f][box] += 1
    for f, _, box in ref:
        ref_frames[f][box] += 1
    diff = [f for f in sorted(set(mine_frames) | set(ref_frames)) if mine_frames[f] != ref_frames[f]]
    assert not diff, f"{seq}: frames differ, first {diff[0]}: mine-only {mine_frames[diff[0]] - ref_frames[diff[0]]}"

    # Same partition into tracks: our id -> reference id is a function and a bijection.
    ref_id = {(f, box): tid for f, tid, box in ref}
    assert len(ref_id) == len(ref), "reference has two identical boxes in a frame; the id check would be ambiguous"
    mapping: dict[int, int] = {}
    for f, tid, box in mine:
        assert mapping.setdefault(tid, ref_id[(f, box)]) == ref_id[(f, box)], f"{seq}: track {tid} splits at {f}"
    assert len(set(mapping.values())) == len(mapping), f"{seq}: two of our tracks map onto one reference track"
    assert set(mapping.values()) == {tid for _, tid, _ in ref}


def test_iou_uses_plus_one_area_convention() -> None:
    a = np.array([[0.0, 0.0, 9.0, 9.0]])  # 10 x 10 pixels
    b = np.array([[5.0, 5.0, 14.0, 14.0], [9.0, 0.0, 18.0, 9.0], [10.0, 0.0, 19.0, 9.0], [0.0, 0.0, 9.0, 9.0]])
    got = iou(a, b)
    assert got.shape == (1, 4)
    np.testing.assert_allclose(got[0], [25 / 175, 10 / 190, 0.0, 1.0], rtol=0, atol=1e-15)
    # orientation: rows are the first argument
    assert iou(b, a).shape == (4, 1)
    assert iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_fuse_score_scales_similarity_by_detection_score() -> None:
    cost = np.array([[0.2, 1.0], [0.5, 0.0]])
    fused = fuse_score(cost, np.array([0.5, 0.9]))
    np.testing.assert_allclose(fused, [[1 - 0.8 * 0.5, 1.0], [1 - 0.5 * 0.5, 1 - 0.9]])


def test_lapjv_cost_limit_is_not_thresholded_hungarian() -> None:
    cost = np.array([[0.1, 0.7], [0.7, 5.0]])
    thresh = 0.8
    rows, cols = linear_sum_assignment(cost)  # Hungarian: the two 0.7 pairs, both under the threshold
    hungarian = {(r, c) for r, c in zip(rows, cols) if cost[r, c] <= thresh}
    assert hungarian == {(0, 1), (1, 0)}
    # lapjv with a cost limit: one 0.1 pair plus an unmatched row and column (0.8) beats 1.4
    matches, u_tracks, u_dets = linear_assignment(cost, thresh)
    assert {tuple(m) for m in matches.tolist()} == {(0, 0)}
    assert u_tracks.tolist() == [1] and u_dets.tolist() == [1]


def test_linear_assignment_empty_and_rectangular() -> None:
    m, ut, ud = linear_assignment(np.zeros((3, 0)), 0.9)
    assert m.shape == (0, 2) and ut.tolist() == [0, 1, 2] and ud.tolist() == []
    m, ut, ud = linear_assignment(np.array([[0.95, 0.2, 0.3]]), 0.9)
    assert m.tolist() == [[0, 1]] and ut.tolist() == [] and ud.tolist() == [0, 2]


def test_cosine_distance() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[3.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(cosine_distance(a, b), [[0.0, 1 - 2**-0.5], [1.0, 1 - 2**-0.5]], atol=1e-12)


def _box(x: float, score: float = 0.9) -> list[float]:
    return [x, 100.0, x + 40.0, 200.0, score]


def test_ids_start_at_one_per_instance() -> None:
    frame = np.array([_box(0.0), _box(300.0)])
    a, b = ByteTrack(), ByteTrack()
    ids_a = a.update(frame)[:, 4]
    ids_b = b.update(frame)[:, 4]
    assert sorted(ids_a.tolist()) == [1.0, 2.0]
    assert sorted(ids_b.tolist()) == [1.0, 2.0]
    # interleaved updates do not share a counter either
    a.update(np.array([_box(0.0), _box(300.0), _box(600.0)]))
    b.update(np.array([_box(0.0), _box(300.0), _box(600.0)]))
    assert {t.track_id for t in a.tracked} == {1, 2, 3} == {t.track_id for t in b.tracked}


def test_empty_frames_lose_then_refind_track() -> None:
    tracker = ByteTrack()
    out = tracker.update(np.zeros((0, 5)))
    assert out.shape == (0, 6)
    out = tracker.update(np.array([_box(50.0)]))  # frame 2: new track, unconfirmed (not output)
    assert out.shape == (0, 6) and len(tracker.tracked) == 1
    out = tracker.update(np.array([_box(51.0)]))  # frame 3: confirmed
    assert out[:, 4].tolist() == [1.0]
    for _ in range(5):
        assert tracker.update(np.zeros((0, 5))).shape == (0, 6)
    assert [t.state for t in tracker.lost] == [TrackState.LOST]
    out = tracker.update(np.array([_box(52.0)]))
    assert out[:, 4].tolist() == [1.0]  # re-found with its old id
    assert tracker.lost == []


def test_lost_track_is_dropped_after_buffer() -> None:
    tracker = ByteTrack(ByteTrackConfig(track_buffer=3))
    tracker.update(np.array([_box(50.0)]))  # frame 1: confirmed at once
    for _ in range(6):
        tracker.update(np.zeros((0, 5)))
    assert tracker.lost == [] and tracker.tracked == []
    out = tracker.update(np.array([_box(50.0)]))
    assert out.shape == (0, 6) and [t.track_id for t in tracker.tracked] == [2]


def test_reference_grace_frame_after_removal() -> None:
    """Reference quirk: a track aged out stays in the lost pool one more frame; re-found then, it keeps its id,
    but once lost again it is dropped at once (its id is already on the removed list)."""
    tracker = ByteTrack(ByteTrackConfig(track_buffer=3))
    tracker.update(np.array([_box(50.0)]))  # frame 1
    for _ in range(4):  # frames 2-5; at frame 5, 5 - 1 > 3: marked removed
        tracker.update(np.zeros((0, 5)))
    assert [t.state for t in tracker.lost] == [TrackState.REMOVED]
    out = tracker.update(np.array([_box(50.0)]))  # frame 6: still matchable
    assert out[:, 4].tolist() == [1.0]
    tracker.update(np.zeros((0, 5)))  # frame 7: lost again and dropped immediately
    assert tracker.lost == [] and tracker.tracked == []


def test_low_score_detections_only_extend_tracks() -> None:
    tracker = ByteTrack()
    tracker.update(np.array([_box(0.0, 0.9)]))  # frame 1: confirmed at once
    out = tracker.update(np.array([_box(1.0, 0.3), _box(300.0, 0.5)]))  # second stage keeps the track alive
    assert out[:, 4].tolist() == [1.0] and out[0, 5] == pytest.approx(0.3)
    assert len(tracker.tracked) == 1  # a low-score detection never starts a track
    tracker.update(np.array([_box(2.0, 0.9)]))
    out = tracker.update(np.array([_box(400.0, 0.65)]))  # high but below track_thresh + 0.1: no new track
    assert out.shape == (0, 6) and tracker.tracked == [] and len(tracker.lost) == 1


def test_first_stage_cost_is_pluggable_and_features_flow() -> None:
    never = lambda tracks, dets, iou_dist: np.ones((len(tracks), len(dets)))  # noqa: E731
    tracker = ByteTrack(first_stage_cost=never)
    feats = np.array([[1.0, 0.0]], dtype=np.float32)
    tracker.update(np.array([_box(0.0)]), feats)
    assert tracker.tracked[0].feature is not None and tracker.tracked[0].feature.tolist() == [1.0, 0.0]
    # the first stage can no longer match: track 1 is lost and a new (unconfirmed) track starts
    out = tracker.update(np.array([_box(20.0)]), feats)
    assert out.shape == (0, 6)
    assert [t.track_id for t in tracker.lost] == [1] and [t.track_id for t in tracker.tracked] == [2]


def test_association_stage_matches_tracks_by_iou() -> None:
    kf = KalmanFilter()

    class _T:
        def __init__(self, tlwh: list[float]) -> None:
            self.mean = kf.initiate(tlwh_to_xyah(np.array(tlwh))[None])[0, :8]
            self.feature = None

    tracks = [_T([0, 0, 10, 20]), _T([100, 0, 10, 20])]
    dets = FrameDetections.from_tlbr(np.array([[101.0, 0, 111, 20], [500, 500, 510, 520]]), np.array([0.9, 0.9]))
    matches, ut, ud = AssociationStage(iou_cost, 0.5).match(tracks, dets, motion_distance(tracks, dets))
    assert matches.tolist() == [[1, 0]] and ut.tolist() == [0] and ud.tolist() == [1]
