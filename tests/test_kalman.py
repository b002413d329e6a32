"""The batched, block-wise Kalman filter equals the reference's dense arithmetic to the last bit, and the stacked
track states behave like per-track ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.kalman_reference import KalmanFilter as DenseKalman
from trackers.chi2 import CHI2INV95
from trackers.kalman import KalmanFilter, dense_covariance, tlwh_to_xyah, xyah_to_tlwh
from trackers.track import KalmanStates, Track, output_rows

DENSE, BATCHED = DenseKalman(), KalmanFilter()


def _box(rng: np.random.Generator) -> np.ndarray:
    return np.array([rng.uniform(0, 1900), rng.uniform(0, 1000), rng.uniform(0.2, 1.2), rng.uniform(8, 600)])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 20))
def test_batched_filter_is_bit_identical_to_the_dense_reference(seed: int, steps: int) -> None:
    """Random life cycles of 6 tracks (predict both ways, updates, misses, zeroed height velocity, gating)."""
    rng = np.random.default_rng(seed)
    z0 = np.stack([_box(rng) for _ in range(6)])
    state = BATCHED.initiate(z0)
    ref = [DENSE.initiate(z) for z in z0]
    for _ in range(steps):
        np.testing.assert_array_equal(state[:, :8], np.stack([m for m, _ in ref]))
        np.testing.assert_array_equal(dense_covariance(state), np.stack([c for _, c in ref]))
        if rng.random() < 0.3:  # ByteTrack zeroes the height velocity of lost tracks before predicting
            state[:, 7] = 0
            ref = [(np.r_[m[:7], 0.0], c) for m, c in ref]
        if rng.random() < 0.5:  # ByteTrack: one multi_predict over the stack
            m, c = DENSE.multi_predict(np.stack([m for m, _ in ref]), np.stack([c for _, c in ref]))
            ref = list(zip(m, c))
            state = BATCHED.predict(state, left_first=True)
        else:  # DeepSORT: predict per track
            ref = [DENSE.predict(m, c) for m, c in ref]
            state = BATCHED.predict(state, left_first=False)
        meas = state[:, :4] + rng.normal(0, 1, (6, 4)) * [8, 8, 0.02, 6]
        gate = BATCHED.gating_distance(state, meas)
        i = rng.integers(6)  # one track per step: the dense reference's triangular solve is slow
        np.testing.assert_array_equal(gate[i], DENSE.gating_distance(*ref[i], meas))
        hit = rng.random(6) < 0.7
        ref = [DENSE.update(m, c, meas[i]) if hit[i] else (m, c) for i, (m, c) in enumerate(ref)]
        state[hit] = BATCHED.update(state[hit], meas[hit])


def test_the_two_prediction_orders_round_differently() -> None:
    """Why `left_first` exists: after an update the covariance is not exactly symmetric."""
    rng = np.random.default_rng(0)
    state = BATCHED.predict(BATCHED.initiate(np.stack([_box(rng) for _ in range(200)])))
    state = BATCHED.update(state, state[:, :4] + rng.normal(0, 5, (200, 4)) * [1, 1, 0.01, 1])
    assert not np.array_equal(BATCHED.predict(state, True), BATCHED.predict(state, False))


def test_filter_behaviour() -> None:
    z = tlwh_to_xyah(np.array([10.0, 20.0, 30.0, 60.0]))
    np.testing.assert_allclose(xyah_to_tlwh(z), [10.0, 20.0, 30.0, 60.0])
    state = BATCHED.predict(BATCHED.initiate(z[None]))
    np.testing.assert_allclose(state[0, :4], z)  # zero initial velocity
    moved = z + np.array([4.0, 0.0, 0.0, 0.0])
    new = BATCHED.update(state, moved[None])
    assert z[0] < new[0, 0] < moved[0] and new[0, 4] > 0  # pulled toward the measurement, gains velocity
    assert np.trace(dense_covariance(new)[0]) < np.trace(dense_covariance(state)[0])
    d = BATCHED.gating_distance(new, np.stack([new[0, :4], new[0, :4] + [200.0, 0, 0, 0]]))
    assert d.shape == (1, 2) and d[0, 0] == pytest.approx(0.0, abs=1e-9) and d[0, 1] > CHI2INV95[4]
    empty = BATCHED.initiate(np.zeros((0, 4)))
    assert BATCHED.predict(empty).shape == (0, 24) and BATCHED.update(empty, np.zeros((0, 4))).shape == (0, 24)


def test_stacked_states_grow_compact_and_keep_each_tracks_state() -> None:
    states = KalmanStates(capacity=2)
    rng = np.random.default_rng(3)
    tracks = [Track(track_id=i + 1, score=0.5, states=states, row=r)
              for i, r in enumerate(states.add(np.stack([_box(rng) for _ in range(5)])))]
    assert states.size == 5 and states.state.shape == (24, 5)
    states.predict(np.array([t.row for t in tracks[1:3]]))
    expected = {t.track_id: states.state[:, t.row].copy() for t in tracks}
    live = tracks[1:4]
    states.size = 200  # pretend many tracks came and went
    states.compact(live)
    assert [t.row for t in live] == [0, 1, 2] and states.size == 3
    for t in live:
        np.testing.assert_array_equal(states.state[:, t.row], expected[t.track_id])
    out = output_rows(live)
    np.testing.assert_array_equal(out[:, :4], np.stack([t.tlwh for t in live]))
    assert out[:, 4].tolist() == [2, 3, 4] and out[:, 5].tolist() == [0.5] * 3
    assert output_rows([]).shape == (0, 6)


@pytest.mark.parametrize("left_first", [True, False])
def test_stack_steps_in_place_touch_only_their_rows_and_equal_the_batched_filter(left_first: bool) -> None:
    """`KalmanStates.predict/update` run the compiled kernels on chosen rows of the stack in place: those rows get
    exactly `KalmanFilter.predict/update`'s values, every other row keeps its bits."""
    rng = np.random.default_rng(7)
    states = KalmanStates(capacity=16)
    states.add(np.stack([_box(rng) for _ in range(9)]))
    before = states.state.copy()
    rows = np.array([7, 2, 4], dtype=np.intp)
    states.predict(rows, left_first)
    np.testing.assert_array_equal(states.state[:, rows].T, BATCHED.predict(before[:, rows].T, left_first))
    others = np.setdiff1d(np.arange(16), rows)
    np.testing.assert_array_equal(states.state[:, others], before[:, others])
    meas = states.state[:4, rows].T + rng.normal(0, 3, (3, 4)) * [1, 1, 0.01, 1]
    predicted = states.state.copy()
    states.update(rows, meas)
    np.testing.assert_array_equal(states.state[:, rows].T, BATCHED.update(predicted[:, rows].T, meas))
    np.testing.assert_array_equal(states.state[:, others], predicted[:, others])
