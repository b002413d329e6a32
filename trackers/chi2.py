"""Chi-square quantiles for Mahalanobis gating (a constant table, importable without numba)."""

from __future__ import annotations

# 0.95 quantile of the chi-square distribution with N degrees of freedom (N = 1..9), the Mahalanobis gating
# threshold; values as in MATLAB/Octave chi2inv (the table DeepSORT and ByteTrack use).
CHI2INV95: dict[int, float] = {
    1: 3.8415,
    2: 5.9915,
    3: 7.8147,
    4: 9.4877,
    5: 11.070,
    6: 12.592,
    7: 14.067,
    8: 15.507,
    9: 16.919,
}
