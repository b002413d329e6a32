"""DeepSORT on hand-built scenes: appearance keeps identities where IoU alone swaps them, the Mahalanobis gate,
the cascade order, the track life cycle, the gallery budget and the input contract."""

from __future__ import annotations

import numpy as np
import pytest

from trackers.association import FrameDetections
from trackers.bytetrack import ByteTrack
from trackers.deepsort import (
    INFTY_COST,
    DeepSORT,
    DeepSORTConfig,
    TrackState,
    non_max_suppression,
)
from trackers.kalman import tlwh_to_xyah
from trackers.matching import cosine_distance, iou

D = 16
W, H = 80.0, 200.0  # pedestrian-like boxes; Kalman noise scales with the height


def box(cx: float, cy: float = 400.0, w: float = W, h: float = H) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def unit(*weights: float) -> np.ndarray:
    v = np.zeros(D, dtype=np.float32)
    v[: len(weights)] = weights
    return v / np.linalg.norm(v)


def frame(centers: list[float], feats: list[np.ndarray], scores: list[float] | None = None):
    scores = scores if scores is not None else [0.9] * len(centers)
    dets = np.array([box(c) + [s] for c, s in zip(centers, scores)], dtype=np.float64).reshape(-1, 5)
    return dets, np.array(feats, dtype=np.float32).reshape(-1, D)


def empty_frame():
    return np.zeros((0, 5)), np.zeros((0, D), dtype=np.float32)


def center_ids(out: np.ndarray) -> dict[int, float]:
    """track id → box center x (outputs are x, y, w, h)."""
    return {int(r[4]): float(r[0] + r[2] / 2) for r in out}


def id_nearest(out: np.ndarray, cx: float) -> int:
    ids = center_ids(out)
    tid = min(ids, key=lambda k: abs(ids[k] - cx))
    assert abs(ids[tid] - cx) < 10, f"no track near x={cx}: {ids}"
    return tid


def crossing_paths(a_meet: float = 188.0, b_meet: float = 212.0, depart: float = 20.0, n_depart: int = 10):
    """A walks right, B walks left; they slow down, stand overlapping for 9 frames, then pass each other.

    While they stand, the Kalman filters settle on A left of B (no velocity), so at the first step of the pass
    A's new box is nearer to B's track and B's to A's: motion and IoU alone must swap them.
    """
    steps = [8.0] * 8 + [6.0, 4.0, 2.0] + [0.0] * 8
    xa = [a_meet - sum(steps)]
    for s in steps:
        xa.append(xa[-1] + s)
    xb = [a_meet + b_meet - x for x in xa]
    for k in range(1, n_depart + 1):
        xa.append(a_meet + depart * k)
        xb.append(b_meet - depart * k)
    return np.array(xa), np.array(xb)


def run_crossing(tracker, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    xa, xb = crossing_paths()
    ea, eb = unit(1), unit(0, 1)
    outs = []
    for a, b in zip(xa, xb):
        dets, _ = frame([a, b], [ea, eb])
        feats = np.stack([ea, eb]) + 0.02 * rng.standard_normal((2, D)).astype(np.float32)
        outs.append(tracker.update(dets, feats))
    return outs


def test_crossing_targets_keep_ids_with_appearance_but_swap_with_iou_only():
    xa, xb = crossing_paths()
    assert any(abs(a - b) < W for a, b in zip(xa, xb))  # the boxes do overlap
    assert xa[-1] > xb[-1] and xa[0] < xb[0]  # and the targets do pass each other
    start, end = 3, len(xa) - 1  # frame 3: both tracks reported and the boxes apart; end: apart again
    assert abs(xa[start] - xb[start]) > W and abs(xa[end] - xb[end]) > W

    outs = run_crossing(ByteTrack())
    a0, b0 = id_nearest(outs[start], xa[start]), id_nearest(outs[start], xb[start])
    assert a0 != b0
    assert id_nearest(outs[end], xa[end]) == b0 and id_nearest(outs[end], xb[end]) == a0  # IoU tracker swaps

    outs = run_crossing(DeepSORT())
    a0, b0 = id_nearest(outs[start], xa[start]), id_nearest(outs[start], xb[start])
    assert a0 != b0
    assert id_nearest(outs[end], xa[end]) == a0 and id_nearest(outs[end], xb[end]) == b0
    # never a third identity, and both targets reported in every frame from their confirmation on
    assert {int(i) for out in outs for i in out[:, 4]} == {a0, b0}
    assert all(len(out) == 2 for out in outs[2:])


def confirmed_track_at(tracker: DeepSORT, cx: float, feat: np.ndarray, frames: int = 4) -> None:
    for _ in range(frames):
        tracker.update(*frame([cx], [feat]))
    assert len(tracker.tracks) == 1 and tracker.tracks[0].state == TrackState.CONFIRMED


@pytest.mark.parametrize("gate_on", [True, False])
def test_far_detection_with_right_appearance_is_gated_out_of_the_cascade(gate_on):
    cfg = DeepSORTConfig() if gate_on else DeepSORTConfig(gating_threshold=np.inf)
    tracker = DeepSORT(cfg)
    e = unit(1)
    confirmed_track_at(tracker, 300.0, e)
    far = 300.0 + 2 * W  # no overlap: the IoU stage cannot take it either
    track = tracker.tracks[0]

    # The cost the cascade sees (after the prediction that update() does first).
    states = tracker.states
    predicted = states.kalman.predict(states.state[:, [track.row]].T, left_first=False)
    dets = FrameDetections.from_tlbr(np.array([box(far)]), np.array([0.9]), e[None])
    gate = states.kalman.gating_distance(predicted, tlwh_to_xyah(dets.tlwh))[0]
    assert gate[0] > 9.4877
    saved = states.state[:, track.row].copy()
    states.state[:, track.row] = predicted[0]
    cost = tracker._gated_appearance_cost([track], dets)
    states.state[:, track.row] = saved
    assert cost[0, 0] == (INFTY_COST if gate_on else pytest.approx(0.0, abs=1e-6))

    out = tracker.update(*frame([far], [e]))
    if gate_on:
        assert len(out) == 0  # the old track missed; the detection started a tentative track
        assert [t.track_id for t in tracker.tracks] == [1, 2]
        assert tracker.tracks[0].time_since_update == 1 and tracker.tracks[1].state == TrackState.TENTATIVE
    else:
        assert out[:, 4].tolist() == [1.0] and len(tracker.tracks) == 1


def test_detection_inside_gate_is_matched_by_appearance():
    tracker = DeepSORT()
    e = unit(1)
    confirmed_track_at(tracker, 300.0, e)
    out = tracker.update(*frame([310.0], [e]))
    assert out[:, 4].tolist() == [1.0]


@pytest.mark.parametrize("recent", [0, 1])
def test_cascade_gives_the_detection_to_the_more_recently_seen_track(recent):
    """Two confirmed tracks with the same appearance cost for one detection midway between them: the one
    updated more recently wins (cascade level 1 before level 2), whichever of the two it is."""
    left, right = 300.0, 360.0
    shared = 3.0
    feats = [unit(1, 0, shared), unit(0, 1, shared)]  # distinct, but equally close to unit(0, 0, 1)
    tracker = DeepSORT(DeepSORTConfig(max_cosine_distance=0.2))
    for _ in range(3):
        tracker.update(*frame([left, right], feats))
    assert [t.state for t in tracker.tracks] == [TrackState.CONFIRMED] * 2
    ids = [t.track_id for t in tracker.tracks]

    # One frame where only the `recent` track is seen: the other now has one more frame since its update.
    tracker.update(*frame([[left, right][recent]], [feats[recent]]))
    assert [t.time_since_update for t in tracker.tracks] == [int(recent != 0), int(recent != 1)]

    mid = (left + right) / 2
    query = unit(0, 0, 1)
    dets = FrameDetections.from_tlbr(np.array([box(mid)]), np.array([0.9]), query[None])
    costs = []
    for t in tracker.tracks:  # premise: equal appearance cost, both inside their gates
        costs.append(cosine_distance(np.asarray(t.gallery), query[None]).min())
        kalman = tracker.states.kalman
        predicted = kalman.predict(tracker.states.state[:, [t.row]].T, left_first=False)
        assert kalman.gating_distance(predicted, tlwh_to_xyah(dets.tlwh))[0, 0] < 9.4877
    assert costs[0] == pytest.approx(costs[1], abs=1e-6) and costs[0] < 0.2

    out = tracker.update(*frame([mid], [query]))
    assert out[:, 4].tolist() == [ids[recent]]


def test_new_track_reported_from_its_third_consecutive_hit():
    tracker = DeepSORT()
    e = unit(1)
    assert len(tracker.update(*frame([300.0], [e]))) == 0
    assert len(tracker.update(*frame([304.0], [e]))) == 0
    out = tracker.update(*frame([308.0], [e]))
    assert out[:, 4].tolist() == [1.0]


def test_tentative_track_deleted_on_a_miss():
    tracker = DeepSORT()
    e = unit(1)
    tracker.update(*frame([300.0], [e]))
    tracker.update(*frame([300.0], [e]))
    tracker.update(*empty_frame())
    assert tracker.tracks == []
    for _ in range(2):
        assert len(tracker.update(*frame([300.0], [e]))) == 0
    assert tracker.update(*frame([300.0], [e]))[:, 4].tolist() == [2.0]


@pytest.mark.parametrize("misses, same_id", [(4, True), (5, False)])
def test_confirmed_track_refound_until_max_age(misses, same_id):
    """max_age 5: the cascade reaches time_since_update 5, so the track is re-found after 4 missed frames;
    after 5 it is still alive but unreachable, and dies at its 6th miss (reference behaviour)."""
    tracker = DeepSORT(DeepSORTConfig(max_age=5))
    e = unit(1)
    confirmed_track_at(tracker, 300.0, e, frames=3)
    for _ in range(misses):
        assert len(tracker.update(*empty_frame())) == 0
    assert len(tracker.tracks) == 1  # still alive after max_age misses at most
    out = tracker.update(*frame([300.0], [e]))
    if same_id:
        assert out[:, 4].tolist() == [1.0]
    else:
        assert len(out) == 0
        assert [t.track_id for t in tracker.tracks] == [2]


def test_confirmed_track_deleted_after_max_age_misses():
    tracker = DeepSORT(DeepSORTConfig(max_age=5))
    confirmed_track_at(tracker, 300.0, unit(1), frames=3)
    for _ in range(5):
        tracker.update(*empty_frame())
    assert len(tracker.tracks) == 1
    tracker.update(*empty_frame())
    assert tracker.tracks == []


def test_output_box_is_kalman_state_and_score_is_matched_detections():
    tracker = DeepSORT()
    e = unit(1)
    for k, score in enumerate([0.9, 0.5, 0.7, 0.4]):
        out = tracker.update(*frame([300.0 + 10 * k], [e], [score]))
    assert out[0, 5] == pytest.approx(0.4)
    np.testing.assert_allclose(out[0, :4], tracker.tracks[0].tlwh)
    det_tlwh = np.array([330.0 - W / 2, 400.0 - H / 2, W, H])
    assert not np.allclose(out[0, :4], det_tlwh)  # filtered, not the raw detection
    np.testing.assert_allclose(out[0, 2:4], [W, H], rtol=1e-3)


def test_output_after_a_miss_is_configurable():
    e = unit(1)
    for max_tsu, expected in [(0, [0, 0]), (1, [1, 0])]:
        tracker = DeepSORT(DeepSORTConfig(output_max_time_since_update=max_tsu))
        confirmed_track_at(tracker, 300.0, e, frames=3)
        assert [len(tracker.update(*empty_frame())) for _ in range(2)] == expected


def test_min_confidence_drops_weak_detections():
    tracker = DeepSORT(DeepSORTConfig(min_confidence=0.3))
    tracker.update(*frame([100.0, 400.0], [unit(1), unit(0, 1)], [0.29, 0.3]))
    assert len(tracker.tracks) == 1
    assert tracker.tracks[0].mean[0] == pytest.approx(400.0)


def test_gallery_keeps_the_last_nn_budget_features():
    rng = np.random.default_rng(1)
    feats = [unit(1) + 0.05 * rng.standard_normal(D).astype(np.float32) for _ in range(10)]
    for budget, kept in [(4, 4), (None, 10)]:
        tracker = DeepSORT(DeepSORTConfig(nn_budget=budget))
        for f in feats:
            tracker.update(*frame([300.0], [f]))
        np.testing.assert_array_equal(np.asarray(tracker.tracks[0].gallery), np.array(feats[-kept:]))


def test_appearance_cost_is_the_minimum_over_the_gallery():
    """A track seen as e0 then as e1 is still close to e0 while e0 is in its gallery, and no longer once the
    budget has pushed it out."""
    e0, e1 = unit(1), unit(0, 1)
    for budget, expected in [(6, 0.0), (3, 1.0)]:
        tracker = DeepSORT(DeepSORTConfig(nn_budget=budget))
        for f in [e0] * 3 + [e1] * 3:  # the switch is bridged by the IoU stage (track missed just this frame)
            tracker.update(*frame([300.0], [f]))
        assert [t.track_id for t in tracker.tracks] == [1]
        dets = FrameDetections.from_tlbr(np.array([box(300.0)]), np.array([0.9]), e0[None])
        cost = tracker._gated_appearance_cost(tracker.tracks, dets)
        assert cost[0, 0] == pytest.approx(expected, abs=1e-6)


def test_features_are_required_and_aligned():
    tracker = DeepSORT()
    dets, feats = frame([300.0, 500.0], [unit(1), unit(0, 1)])
    with pytest.raises(ValueError, match="features"):
        tracker.update(dets, None)
    with pytest.raises(ValueError, match="features"):
        tracker.update(dets, feats[:1])
    with pytest.raises(ValueError, match="features"):
        tracker.update(dets, feats[0])
    with pytest.raises(ValueError, match="features"):
        tracker.update(np.zeros((0, 5)), None)
    tracker.update(dets, feats)
    with pytest.raises(ValueError, match="dimension"):
        tracker.update(dets, np.zeros((2, D + 1), dtype=np.float32))


def test_empty_frames():
    tracker = DeepSORT()
    out = tracker.update(*empty_frame())
    assert out.shape == (0, 6)
    assert tracker.update(np.zeros((0, 5)), np.zeros(0)).shape == (0, 6)
    confirmed_track_at(tracker, 300.0, unit(1), frames=3)
    assert tracker.update(*empty_frame()).shape == (0, 6)


def test_ids_start_at_one_per_instance():
    for _ in range(2):
        tracker = DeepSORT(DeepSORTConfig(n_init=1))
        out = tracker.update(*frame([100.0, 400.0], [unit(1), unit(0, 1)]))
        assert out[:, 4].tolist() == [1.0, 2.0]


def test_detections_are_not_aliased():
    tracker = DeepSORT()
    dets, feats = frame([300.0], [unit(1)])
    tracker.update(dets, feats)
    feats[:] = 0
    assert np.asarray(tracker.tracks[0].gallery)[0, 0] == pytest.approx(1.0)


def test_iou_has_no_pixel_offset():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    np.testing.assert_allclose(iou(a, b, offset=0.0), [[50 / 150, 1.0, 0.0]])
    assert iou(np.zeros((0, 4)), b, offset=0.0).shape == (0, 3)


def test_nms_overlap_is_relative_to_the_weaker_box():
    big = [0.0, 0.0, 100.0, 200.0]  # tlwh
    small_inside = [10.0, 10.0, 30.0, 60.0]  # IoU with big is small, but it lies entirely inside big
    apart = [300.0, 0.0, 100.0, 200.0]
    tlwh = np.array([small_inside, big, apart])
    scores = np.array([0.5, 0.9, 0.7])
    assert non_max_suppression(tlwh, scores, 0.5).tolist() == [1, 2]  # best first, small one suppressed
    assert non_max_suppression(tlwh, scores, 1.0).tolist() == [1, 2, 0]  # 1.0 suppresses nothing

    tracker = DeepSORT(DeepSORTConfig(nms_max_overlap=0.5))
    dets = np.array([box(300.0) + [0.6], box(303.0) + [0.9]])
    tracker.update(dets, np.stack([unit(1), unit(0, 1)]))
    assert len(tracker.tracks) == 1 and tracker.tracks[0].score == pytest.approx(0.9)


def test_config_is_validated():
    with pytest.raises(ValueError, match="n_init"):
        DeepSORTConfig(n_init=0)
    with pytest.raises(ValueError, match="nn_budget"):
        DeepSORTConfig(nn_budget=0)
