"""The speed shortcuts of the trackers are exact: they skip work only where the skipped work cannot change a result."""

from __future__ import annotations

import lap
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trackers.bytetrack import duplicate_candidates
from trackers.kalman import tlwh_to_tlbr, xyah_to_tlwh
from trackers.matching import TIE_MARGIN, iou, iou_distance, lapjv_assignment, linear_assignment, pair_iou

THRESHOLDS = st.sampled_from([0.2, 0.5, 0.7, 0.9, 1.0])
# Costs drawn from a few values on and around the thresholds (ties, exact-threshold entries, crossing candidates)
# and from anywhere in [0, 1.2].
COSTS = st.one_of(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 0.9 + TIE_MARGIN / 2, 1e5]),
                  st.floats(0.0, 1.2, allow_nan=False))


@settings(max_examples=400, deadline=None)
@given(cost=arrays(np.float64, st.tuples(st.integers(0, 6), st.integers(0, 6)), elements=COSTS), thresh=THRESHOLDS)
def test_linear_assignment_equals_lapjv(cost: np.ndarray, thresh: float) -> None:
    for got, want in zip(linear_assignment(cost, thresh), lapjv_assignment(cost, thresh)):
        assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_forced_assignments_do_not_call_lapjv(monkeypatch: pytest.MonkeyPatch) -> None:
    cost = np.array([[0.2, 1.0, 1.0], [1.0, 1.0, 0.95], [1.0, 0.4, 1.0]])
    monkeypatch.setattr(lap, "lapjv", lambda *a, **k: pytest.fail("lapjv called for a forced assignment"))
    matches, unmatched_rows, unmatched_cols = linear_assignment(cost, 0.9)
    assert matches.tolist() == [[0, 0], [2, 1]] and unmatched_rows.tolist() == [1] and unmatched_cols.tolist() == [2]


@pytest.mark.parametrize("cost", [
    [[0.2, 0.3], [1.0, 1.0]],  # a row with two candidates
    [[0.2, 1.0], [0.3, 1.0]],  # a column with two candidates
    [[0.2, 0.9], [1.0, 1.0]],  # a cost equal to the limit ties with leaving the pair unmatched
])
def test_anything_not_forced_goes_to_lapjv(cost: list[list[float]], monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = lap.lapjv
    monkeypatch.setattr(lap, "lapjv", lambda *a, **k: calls.append(1) or real(*a, **k))
    linear_assignment(np.array(cost), 0.9)
    assert calls == [1]


XYAH = st.tuples(st.floats(0, 1900), st.floats(0, 1000), st.floats(0.2, 1.2), st.floats(8, 600))


@settings(max_examples=400, deadline=None)
@given(a=XYAH, shift=st.tuples(st.floats(-40, 40), st.floats(-40, 40), st.floats(0.8, 1.25), st.floats(0.8, 1.25)),
       dist=st.floats(0.0, 1.0))
def test_duplicate_precheck_never_misses_a_duplicate(a: tuple, shift: tuple, dist: float) -> None:
    """Whenever the IoU makes two boxes duplicates, the pre-check says they may be (a necessary condition)."""
    xa = np.array(a)
    xb = np.array([a[0] + shift[0], a[1] + shift[1], a[2] * shift[2], a[3] * shift[3]])
    boxes = tlwh_to_tlbr(xyah_to_tlwh(np.stack([xa, xb])))  # the tracker's box arithmetic
    if iou_distance(boxes[:1], boxes[1:])[0, 0] < dist:
        assert duplicate_candidates(xa[:, None], xb[:, None], dist).all()


def test_duplicate_precheck_rejects_far_boxes() -> None:
    a = np.array([[100.0], [200.0], [0.5], [100.0]])  # 50 px wide
    b = a + np.array([[30.0], [0.0], [0.0], [0.0]])
    assert duplicate_candidates(a, a, 0.15).all()
    assert not duplicate_candidates(a, b, 0.15).any()  # 30 px apart > 0.15 * 51 + 1.15


BOX = st.tuples(st.floats(-50, 1900), st.floats(-50, 1000), st.floats(0, 400), st.floats(0, 600))


@settings(max_examples=300, deadline=None)
@given(a=BOX, b=BOX, offset=st.sampled_from([0.0, 1.0]))
def test_pair_iou_equals_the_matrix_entry_bit_for_bit(a: tuple, b: tuple, offset: float) -> None:
    """The scalar IoU the duplicate check uses for its few candidate pairs is `iou`'s entry, to the last bit."""
    ta = [a[0], a[1], a[0] + a[2], a[1] + a[3]]
    tb = [b[0], b[1], b[0] + b[2], b[1] + b[3]]
    assert pair_iou(ta, tb, offset) == iou(np.array([ta]), np.array([tb]), offset)[0, 0]
    assert pair_iou(ta, ta, offset) == iou(np.array([ta]), np.array([ta]), offset)[0, 0]
