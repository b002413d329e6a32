"""The speed shortcuts of the trackers are exact: they skip work only where the skipped work cannot change a result."""

from __future__ import annotations

import lap
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trackers.bytetrack import duplicate_pairs
from trackers.matching import TIE_MARGIN, iou, iou_distance, lapjv_assignment, linear_assignment, pair_iou
from trackers.track import KalmanStates

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


@settings(max_examples=300, deadline=None)
@given(means=st.lists(XYAH, min_size=1, max_size=12), n_tracked=st.integers(0, 12),
       near=st.lists(st.tuples(st.integers(0, 11), st.floats(-3, 3), st.floats(0.9, 1.1)), max_size=6),
       dist=st.sampled_from([0.0, 0.15, 0.5, 1.0]))
def test_compiled_duplicate_pairs_equal_the_numpy_iou(means: list, n_tracked: int, near: list, dist: float) -> None:
    """`duplicate_pairs` finds exactly the pairs the IoU matrix of the tracker's Kalman boxes puts under `dist`."""
    for k, dx, scale in near:  # add near-copies of some boxes, so duplicates (and near-ties) occur
        cx, cy, a, h = means[k % len(means)]
        means = means + [(cx + dx, cy - dx, a, h * scale)]
    states = KalmanStates(capacity=4)
    order = np.random.default_rng(len(means)).permutation(len(means))
    rows = np.asarray(states.add(np.array(means)), dtype=np.intp)[order]
    n = min(n_tracked, len(rows))
    expected = np.argwhere(iou_distance(states.tlbr(rows[:n]), states.tlbr(rows[n:])) < dist)
    got = duplicate_pairs(states.state, rows[:n], rows[n:], dist)
    assert got.dtype == np.int64 and got.shape[1] == 2
    assert np.array_equal(got, expected)


BOX = st.tuples(st.floats(-50, 1900), st.floats(-50, 1000), st.floats(0, 400), st.floats(0, 600))


@settings(max_examples=300, deadline=None)
@given(a=BOX, b=BOX, offset=st.sampled_from([0.0, 1.0]))
def test_pair_iou_equals_the_matrix_entry_bit_for_bit(a: tuple, b: tuple, offset: float) -> None:
    """The compiled scalar IoU is `iou`'s entry, to the last bit."""
    ta = (a[0], a[1], a[0] + a[2], a[1] + a[3])
    tb = (b[0], b[1], b[0] + b[2], b[1] + b[3])
    for x, y in ((ta, tb), (ta, ta)):  # bit for bit; a zero union (underflowing areas) is nan in both
        got, want = pair_iou(x, y, offset), iou(np.array([x]), np.array([y]), offset)[0, 0]
        assert np.float64(got).tobytes() == np.float64(want).tobytes() or (np.isnan(got) and np.isnan(want))
