import numpy as np
import pytest

from bench.data.mot_io import read_detections, split_by_frame
from tests.test_deepsort import crossing_paths, id_nearest, run_crossing
from trackers.association import FrameDetections, motion_distance
from trackers.bytetrack import ByteTrack
from trackers.configs import ByteTrackConfig, FineTrackConfig
from trackers.finetrack import FineTrack, fused_cost, gated_feature_cost


class _T:
    def __init__(self, tlbr, feature):
        x1, y1, x2, y2 = tlbr
        w, h = x2 - x1, y2 - y1
        self.mean = np.array([x1 + w / 2, y1 + h / 2, w / h, h, 0, 0, 0, 0], dtype=np.float64)
        self.feature = np.asarray(feature, dtype=np.float64)


def test_fused_cost_hand_values():
    # track box 0..9 (10 px with +1 convention); det A identical box, det B far away
    tracks = [_T([0, 0, 9, 9], [1.0, 0.0])]
    cos_a = 0.6  # feature at angle with cos 0.6
    dets = FrameDetections.from_tlbr(np.array([[0, 0, 9, 9], [100, 100, 109, 109], [0, 5, 9, 14]]),
                                np.array([0.9, 0.9, 0.9]),
                                np.array([[cos_a, 0.8], [1.0, 0.0], [1.0, 0.0]]))
    d = fused_cost(tracks, dets, motion_distance(tracks, dets))
    # A: IoU 1 → d_IoU 0 → d = 0 whatever the appearance
    assert d[0, 0] == pytest.approx(0.0)
    # B: no overlap → d̃_feat = 1, d_IoU = 1 → d = 1 even with identical appearance
    assert d[0, 1] == pytest.approx(1.0)
    # C: half overlap: inter 10x5=50, union 150 → IoU 1/3, d_IoU 2/3; same appearance d_feat 0 → d = 0
    assert d[0, 2] == pytest.approx(0.0, abs=1e-7)
    g = gated_feature_cost(tracks, dets, motion_distance(tracks, dets))
    assert g[0, 0] == pytest.approx(1 - cos_a) and g[0, 1] == pytest.approx(1.0) and g[0, 2] == pytest.approx(0.0)
    # different appearance on the half-overlapping box: d = sqrt(d_feat * d_IoU) = sqrt(0.4 * 2/3)
    dets2 = FrameDetections.from_tlbr(np.array([[0, 5, 9, 14]]), np.array([0.9]), np.array([[cos_a, 0.8]]))
    assert fused_cost(tracks, dets2, motion_distance(tracks, dets2))[0, 0] == pytest.approx(np.sqrt(0.4 * 2 / 3))


def test_crossing_targets_keep_ids_with_fused_association():
    xa, xb = crossing_paths()
    start, end = 3, len(xa) - 1
    outs = run_crossing(FineTrack())
    a0, b0 = id_nearest(outs[start], xa[start]), id_nearest(outs[start], xb[start])
    assert a0 != b0
    assert id_nearest(outs[end], xa[end]) == a0 and id_nearest(outs[end], xb[end]) == b0
    swapped = run_crossing(FineTrack(FineTrackConfig(association="iou")))
    assert id_nearest(swapped[end], xa[end]) == id_nearest(swapped[start], xb[start])  # IoU-only swaps


def test_iou_association_is_exactly_bytetrack(mot_data):
    dets = read_detections(mot_data / "mot15-dets" / "TUD-Campus" / "det" / "det.txt")
    frames = split_by_frame(dets, int(dets[:, 0].max()))
    rng = np.random.default_rng(0)
    bt, ft = ByteTrack(ByteTrackConfig()), FineTrack(FineTrackConfig(association="iou"))
    for f in frames:
        feats = rng.standard_normal((len(f), 8))
        np.testing.assert_array_equal(bt.update(f), ft.update(f, feats))


def test_appearance_changes_the_outcome_on_real_detections(mot_data):
    """With features that contradict the boxes, fused association must behave differently from IoU."""
    dets = read_detections(mot_data / "mot15-dets" / "PETS09-S2L1" / "det" / "det.txt")
    frames = split_by_frame(dets, 200)[:200]
    rng = np.random.default_rng(0)
    a, b = FineTrack(FineTrackConfig(association="iou")), FineTrack()
    differ = False
    for f in frames:
        feats = rng.standard_normal((len(f), 8))  # random appearance: no identity information
        differ |= not np.array_equal(a.update(f, feats), b.update(f, feats))
    assert differ


def test_feature_ema_only_on_confident_matches():
    t = FineTrack(FineTrackConfig(feature_momentum=0.5))
    box = np.array([[0.0, 0.0, 20.0, 40.0, 0.9]])
    t.update(box, np.array([[1.0, 0.0]]))
    t.update(box, np.array([[0.0, 1.0]]))  # confident: EMA 0.5/0.5 → normalised (0.707, 0.707)
    track = t.tracked[0]
    np.testing.assert_allclose(track.feature, [np.sqrt(0.5), np.sqrt(0.5)])
    low = box.copy()
    low[0, 4] = 0.3  # low-score match (second stage): feature unchanged
    t.update(low, np.array([[-1.0, 0.0]]))
    np.testing.assert_allclose(t.tracked[0].feature, [np.sqrt(0.5), np.sqrt(0.5)])


def test_features_required_and_config_checked():
    with pytest.raises(ValueError):
        FineTrack().update(np.array([[0.0, 0.0, 20.0, 40.0, 0.9]]))
    with pytest.raises(ValueError):
        FineTrackConfig(association="nope")
    assert FineTrack().update(np.zeros((0, 5)), np.zeros((0, 8))).shape == (0, 6)
