"""Constant-velocity Kalman filter on boxes (x, y, a, h), for a stack of tracks at once.

State is (cx, cy, aspect, height, vcx, vcy, vaspect, vheight); the measurement is the box (cx, cy, w/h, h).
Noise is relative to the box height (std weights 1/20 for position, 1/160 for velocity), as in DeepSORT and
ByteTrack (ifzhang/ByteTrack and nwojke/deep_sort `kalman_filter.py`).

Why the covariance is stored as 2 x 2 blocks: with a diagonal initial covariance, diagonal process and
measurement noise, a motion matrix that adds each velocity to its own coordinate and a measurement that reads
the positions, the four coordinates never couple. The 8 x 8 covariance only ever has entries (i, i), (i, i+4),
(i+4, i), (i+4, i+4): the blocks pp, pv, vp, vv (p position, v velocity), 4 numbers each, one per coordinate.
A track's whole state is 24 numbers (mean, then pp, pv, vp, vv), and every step is a few scalar operations per
coordinate on a stack of them (tracks as rows, (N, 24), or as columns, (24, N); see `KalmanFilter`).

These are the reference's values to the last bit, not an approximation: every sum in its dense products
(np.dot, multi_dot, the Cholesky factor of the diagonal innovation covariance and the triangular solves) has at
most two nonzero terms, which any BLAS adds exactly once; we write those additions out in the same grouping.
Two details decide bits and are kept on purpose: OpenBLAS's triangular solve multiplies by the reciprocal of the
diagonal (x * (1/l) * (1/l), not x / l / l), and the covariance is not exactly symmetric after an update, so the
reference's two prediction products differ: ByteTrack's multi_predict computes (F P) Fᵀ, DeepSORT's per-track
predict (multi_dot) F (P Fᵀ). tests/test_kalman.py checks all of it against the dense reference arithmetic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

def tlwh_to_xyah(tlwh: np.ndarray) -> np.ndarray:
    """(..., 4) left, top, w, h → center x, center y, w/h, h (same float operations as the reference)."""
    ret = np.array(tlwh, dtype=np.float64, copy=True)
    ret[..., :2] += ret[..., 2:] / 2
    ret[..., 2] /= ret[..., 3]
    return ret


def xyah_to_tlwh(xyah: np.ndarray) -> np.ndarray:
    """(..., 4) center x, center y, w/h, h → left, top, w, h (same float operations as the reference)."""
    ret = np.array(xyah, dtype=np.float64, copy=True)
    ret[..., 2] *= ret[..., 3]
    ret[..., :2] -= ret[..., 2:] / 2
    return ret


def tlwh_to_tlbr(tlwh: np.ndarray) -> np.ndarray:
    """(..., 4) left, top, w, h → x1, y1, x2, y2."""
    ret = np.array(tlwh, dtype=np.float64, copy=True)
    ret[..., 2:] += ret[..., :2]
    return ret


def tlbr_to_tlwh(tlbr: np.ndarray) -> np.ndarray:
    """(..., 4) x1, y1, x2, y2 → left, top, w, h."""
    ret = np.array(tlbr, dtype=np.float64, copy=True)
    ret[..., 2:] -= ret[..., :2]
    return ret


def dense_covariance(state: np.ndarray) -> np.ndarray:
    """(N, 24) states → (N, 8, 8) covariance matrices as the reference holds them."""
    blocks = np.asarray(state, dtype=np.float64)[:, 8:].reshape(-1, 2, 2, 4)
    out = np.zeros((len(blocks), 8, 8))
    i = np.arange(4)
    for r in range(2):
        for c in range(2):
            out[:, 4 * r + i, 4 * c + i] = blocks[:, r, c]
    return out


class KalmanFilter:
    """Linear Kalman filter with a constant-velocity motion model and height-relative noise, N tracks at a time.

    Pure functions of (N, 24) states, one row per track: the mean (x, y, a, h, then velocities) in columns 0-7,
    then the covariance blocks pp, pv, vp, vv (4 columns each, one per coordinate; see the module docstring).
    N may be 0.

    The arithmetic is written once, on component-major (24, N) arrays: a tracker's stack is stored that way
    (`trackers.track.KalmanStates`). Predict and update are compiled per-track loops (`_predict_kernel`,
    `_update_kernel`) that write chosen columns of a stack in place (`*_inplace`); `*_columns` and the (N, 24)
    methods run them on a copy, so every entry point gives the same bits.
    """

    def __init__(self, std_weight_position: float = 1.0 / 20, std_weight_velocity: float = 1.0 / 160) -> None:
        wp, wv = std_weight_position, std_weight_velocity
        # Per state component: std = weight * h, except the aspect ratio (and its velocity), which get a fixed
        # std (its variance is set after squaring: rows 2 and 6).
        self._init_weights = np.array([2 * wp, 2 * wp, 0.0, 2 * wp, 10 * wv, 10 * wv, 0.0, 10 * wv])
        self._motion_weights = np.array([wp, wp, 0.0, wp, wv, wv, 0.0, wv])
        self._measure_weights = np.array([wp, wp, 0.0, wp])
        self._init_aspect_var = np.square([[1e-2], [1e-5]])
        self._motion_aspect_var = np.square([[1e-2], [1e-5]])
        self._measure_aspect_var = np.square([[1e-1]])

    @staticmethod
    def _variance(weights: np.ndarray, h: np.ndarray, aspect_var: np.ndarray) -> np.ndarray:
        """(k, N) variances (weight * h)², fixed for the aspect components (rows 2 and 6)."""
        var = np.multiply.outer(weights, h)
        np.square(var, out=var)
        var[2::4] = aspect_var
        return var

    def initiate(self, xyah: np.ndarray) -> np.ndarray:
        """New tracks from (N, 4) unassociated measurements: zero velocity, wide velocity uncertainty."""
        return np.ascontiguousarray(self.initiate_columns(xyah).T)

    def initiate_columns(self, xyah: np.ndarray) -> np.ndarray:
        """`initiate`, as a (24, N) array."""
        xyah = np.asarray(xyah, dtype=np.float64).reshape(-1, 4)
        x = np.zeros((24, len(xyah)))
        x[:4] = xyah.T
        var = self._variance(self._init_weights, xyah[:, 3], self._init_aspect_var)
        x[8:12], x[20:24] = var[:4], var[4:]
        return x

    def predict(self, state: np.ndarray, left_first: bool = True) -> np.ndarray:
        """One step ahead: x ← F x, P ← F P Fᵀ + Q.

        `left_first` picks the reference's rounding: (F P) Fᵀ = (pp + vp) + (pv + vv) as ByteTrack's
        multi_predict (True), or F (P Fᵀ) = (pp + pv) + (vp + vv) as the per-track predict DeepSORT calls (False).
        """
        return np.ascontiguousarray(self.predict_columns(np.asarray(state, dtype=np.float64).T, left_first).T)

    def predict_columns(self, x: np.ndarray, left_first: bool = True) -> np.ndarray:
        """`predict` on (24, N) states."""
        out = np.array(x, dtype=np.float64, order="C", copy=True)
        self.predict_inplace(out, np.arange(out.shape[1]), left_first)
        return out

    def predict_inplace(self, state: np.ndarray, cols: np.ndarray, left_first: bool = True) -> None:
        """`predict` of the columns `cols` of a C-contiguous (24, capacity) stack, written in place."""
        _predict_kernel(state, np.asarray(cols, dtype=np.int64), self._motion_weights, self._motion_aspect_var[0, 0],
                        self._motion_aspect_var[1, 0], left_first)

    def _innovation_cov(self, x: np.ndarray) -> np.ndarray:
        """(4, N) diagonal of H P Hᵀ + R (the projected covariance is diagonal) of (24, N) states."""
        return x[8:12] + self._variance(self._measure_weights, x[3], self._measure_aspect_var)

    def update(self, state: np.ndarray, xyah: np.ndarray) -> np.ndarray:
        """Correction with one (x, y, a, h) measurement per track (row-aligned (N, 4))."""
        state = np.asarray(state, dtype=np.float64)
        return np.ascontiguousarray(self.update_columns(state.T, np.asarray(xyah, dtype=np.float64).T).T)

    def update_columns(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """`update` on (24, N) states with (4, N) measurements."""
        out = np.array(x, dtype=np.float64, order="C", copy=True)
        self.update_inplace(out, np.arange(out.shape[1]), np.asarray(z, dtype=np.float64).T)
        return out

    def update_inplace(self, state: np.ndarray, cols: np.ndarray, xyah: np.ndarray) -> None:
        """`update` of the columns `cols` of a C-contiguous (24, capacity) stack with (len(cols), 4) measurements,
        written in place."""
        _update_kernel(state, np.asarray(cols, dtype=np.int64), np.ascontiguousarray(xyah, dtype=np.float64),
                       self._measure_weights, self._measure_aspect_var[0, 0])

    def gating_distance(self, state: np.ndarray, xyah: np.ndarray) -> np.ndarray:
        """(N tracks) × (M measurements) squared Mahalanobis distance in (x, y, a, h); compare with
        `trackers.chi2.CHI2INV95[4]`."""
        return self.gating_distance_columns(np.asarray(state, dtype=np.float64).T, xyah)

    def gating_distance_columns(self, x: np.ndarray, xyah: np.ndarray) -> np.ndarray:
        """`gating_distance` of (24, N) states and (M, 4) measurements."""
        inv_chol = 1.0 / np.sqrt(self._innovation_cov(x))
        z = (np.asarray(xyah, dtype=np.float64).T[:, None, :] - x[:4, :, None]) * inv_chol[:, :, None]
        z = z * z
        return ((z[0] + z[1]) + z[2]) + z[3]


# The two steps below run per track in compiled loops (numba): for the ~10 tracks of a frame, numpy's cost per call
# (~0.5 µs, about 20 calls per step) was most of a tracker's time. Each line is the reference's arithmetic for one
# coordinate j of one track, in the reference's order (see the module docstring), so the bits are the reference's;
# tests/test_kalman.py checks them against the dense matrix products. They are compiled when this module is imported
# (explicit signatures), never during a timed `update()`, so tracker FPS never includes compilation, and the machine
# code is cached beside the source in __pycache__, like .pyc files: about 1 s for the first import on a machine,
# 0.35 s after.


@njit("void(float64[:, :], int64[:], float64[:], float64, float64, boolean)", cache=True)
def _predict_kernel(state: np.ndarray, cols: np.ndarray, weights: np.ndarray, aspect_var: float,
                    aspect_velocity_var: float, left_first: bool) -> None:
    for k in range(cols.shape[0]):
        i = cols[k]
        h = state[3, i]
        for j in range(4):
            q_pos = aspect_var if j == 2 else (weights[j] * h) * (weights[j] * h)
            q_vel = aspect_velocity_var if j == 2 else (weights[4 + j] * h) * (weights[4 + j] * h)
            pp, pv, vp, vv = state[8 + j, i], state[12 + j, i], state[16 + j, i], state[20 + j, i]
            pv_new = pv + vv
            vp_new = vp + vv
            # P' = F P Fᵀ + Q with ByteTrack's (F P) Fᵀ = (pp + vp) + (pv + vv)
            # or DeepSORT's F (P Fᵀ) = (pp + pv) + (vp + vv)
            pp_new = (pp + vp) + pv_new if left_first else (pp + pv) + vp_new
            state[j, i] += state[4 + j, i]
            state[8 + j, i] = pp_new + q_pos
            state[12 + j, i] = pv_new
            state[16 + j, i] = vp_new
            state[20 + j, i] = vv + q_vel


@njit("void(float64[:, :], int64[:], float64[:, :], float64[:], float64)", cache=True)
def _update_kernel(state: np.ndarray, cols: np.ndarray, xyah: np.ndarray, weights: np.ndarray,
                   aspect_var: float) -> None:
    for k in range(cols.shape[0]):
        i = cols[k]
        h = state[3, i]
        for j in range(4):
            r = aspect_var if j == 2 else (weights[j] * h) * (weights[j] * h)
            pp, pv, vp, vv = state[8 + j, i], state[12 + j, i], state[16 + j, i], state[20 + j, i]
            s = pp + r  # innovation variance (H P Hᵀ + R is diagonal)
            inv_chol = 1.0 / np.sqrt(s)
            gain_p = pp * inv_chol * inv_chol  # K = P Hᵀ S⁻¹ as the two triangular solves (reciprocal, twice)
            gain_v = vp * inv_chol * inv_chol
            innovation = xyah[k, j] - state[j, i]
            state[j, i] += gain_p * innovation
            state[4 + j, i] += gain_v * innovation
            # P - K S Kᵀ, evaluated as the reference's K (S Kᵀ)
            state[8 + j, i] = pp - gain_p * (s * gain_p)
            state[12 + j, i] = pv - gain_p * (s * gain_v)
            state[16 + j, i] = vp - gain_v * (s * gain_p)
            state[20 + j, i] = vv - gain_v * (s * gain_v)
