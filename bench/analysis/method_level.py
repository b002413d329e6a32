"""The method, retrained: a verdict with training seeds and sequences both random (the crossed sequence × seed model).

A trained model carries an effect shared by every sequence it tracks, so the per-(sequence, seed) difference of two
entries is d[s, r] = Δ + v_s + c_r + e[s, r]: a sequence effect v (sd σ_seq), a seed effect c shared by all sequences
of seed r's pair of trained models (sd σ_seed; for a trained entry against an untrained one, such as ByteTrack, it is
the trained side's own seed effect), and cell noise e (sd σ_cell). The mean d̄ has variance
σ_seq²/S + σ_seed²/R + σ_cell²/(S·R), which the two-way ANOVA mean squares estimate without bias:
(MS_seq + MS_seed − MS_res) / (S·R), with S − 1, R − 1 and (S − 1)(R − 1) degrees of freedom.

Test: a **generalized pivotal quantity** (Weerahandi 1993; the fiducial approach of Hannig et al.). Each expected mean
square is drawn from its fiducial distribution, E* = ν·MS / χ²_ν (scipy's chi2 and normal, a fixed seeded set of
draws, so the same data always give the same p), the variance components are kept non-negative, and
μ* = d̄ − Z·√V* is the fiducial distribution of Δ: the 95% interval is its 2.5–97.5% quantiles and the two-sided p is
2·min(P(μ* ≤ 0), P(μ* ≥ 0)), so interval and verdict agree.
Weighed (benchmarks/calibration.py measures them on the same draws):
- a t interval with Satterthwaite degrees of freedom on the same mean squares (Kenward–Roger is the same here, the
  design being balanced): the usual choice, but with 3 seeds the seed term has 2 degrees of freedom and the estimated
  df rises exactly when MS_seed is small by chance; measured 5.1–6.7% false verdicts at 20 × 3 with a seed sd of 1–2.5
  points beside a cell sd of 3.5, over the 6.5% bound;
- a seed-level t test on the R per-seed means over sequences: the sequence effect is common to all R means, so its
  variance is missing, and 3 seeds leave 2 degrees of freedom;
- a two-way randomization test (sign flips of sequences and of seeds): neither flip leaves d's distribution unchanged
  when both effects are present, so it is not exact, and R ≤ 5 seeds alone can never reach 5%;
- statsmodels MixedLM with crossed effects: z-based Wald intervals, too narrow with 3–5 seeds.
The GPQ's false rate stays ≤ 5% in every calibrated cell (10–20 sequences × 3–5 seeds, seed sd 0–2, with and
without sequence effects) at a power close to Satterthwaite's; with one seed nothing about the method can be said,
and with 5 or fewer sequences nothing at all (as for the sign-flip test; normality cannot be checked on 5 numbers).

Power (the planner and the method-level MDE) uses the Satterthwaite t with a noncentral t at the expected mean squares
(scipy), which the tests check against a simulation of the GPQ test itself.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

ALPHA = 0.05
DRAWS = 10_000  # fiducial draws per test (p resolution 2e-4)
CHUNK = 256  # trials per block of the (trials x draws) arrays


@dataclass(frozen=True)
class Spread:
    """Standard deviations of the crossed model of a difference, in the metric's display units."""

    seq: float  # sequence effect (sequence × entry interaction)
    seed: float  # seed effect of the difference, shared by every sequence of one pair of trained models
    cell: float  # (sequence, seed) noise

    def variance(self, seqs: int, seeds: int) -> float:
        return self.seq**2 / seqs + self.seed**2 / seeds + self.cell**2 / (seqs * seeds)


def mean_squares(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grand mean, MS_seq, MS_seed, MS_res of (..., S, R) differences (R ≥ 2)."""
    d = np.asarray(d, dtype=float)
    s, r = d.shape[-2:]
    m = d.mean(axis=(-2, -1))
    rows, cols = d.mean(axis=-1), d.mean(axis=-2)
    ms_seq = r * ((rows - m[..., None]) ** 2).sum(-1) / (s - 1)
    ms_seed = s * ((cols - m[..., None]) ** 2).sum(-1) / (r - 1)
    res = d - rows[..., :, None] - cols[..., None, :] + m[..., None, None]
    ms_res = (res**2).sum(axis=(-2, -1)) / ((s - 1) * (r - 1))
    return m, ms_seq, ms_seed, ms_res


def spread(d: np.ndarray) -> Spread:
    """Non-negative estimates of the three sds from one (S, R) difference matrix (R ≥ 2)."""
    s, r = d.shape
    _, ms_seq, ms_seed, ms_res = (float(v) for v in mean_squares(d))
    return Spread(math.sqrt(max(0.0, (ms_seq - ms_res) / r)), math.sqrt(max(0.0, (ms_seed - ms_res) / s)),
                  math.sqrt(ms_res))


@functools.lru_cache(maxsize=64)
def _draws(s: int, r: int) -> tuple[np.ndarray, ...]:
    """Seeded standard normal and χ²_ν/ν draws for the three mean squares of an S × R design."""
    rng = np.random.default_rng([26, s, r])
    nu = (s - 1, r - 1, (s - 1) * (r - 1))
    z = sps.norm.rvs(size=DRAWS, random_state=rng)
    return (z, *(sps.chi2.rvs(n, size=DRAWS, random_state=rng) / n for n in nu))


def _fiducial(m: np.ndarray, ms: tuple[np.ndarray, ...], s: int, r: int) -> np.ndarray:
    """(trials, DRAWS) fiducial draws of Δ for `trials` designs' sufficient statistics."""
    z, c1, c2, c3 = _draws(s, r)
    e1, e2, e3 = (x[:, None] / c for x, c in zip(ms, (c1, c2, c3)))
    var = (np.maximum(e1, e3) + np.maximum(e2, e3) - e3) / (s * r)  # components ≥ 0: E_seq, E_seed ≥ E_res
    return m[:, None] - z * np.sqrt(var)


def p_values_from(m: np.ndarray, ms_seq: np.ndarray, ms_seed: np.ndarray, ms_res: np.ndarray, s: int,
                  r: int) -> np.ndarray:
    """Two-sided GPQ p of Δ = 0 for a batch of sufficient statistics of S × R designs."""
    out = np.empty(len(m))
    for i in range(0, len(m), CHUNK):
        part = slice(i, i + CHUNK)
        mu = _fiducial(m[part], (ms_seq[part], ms_seed[part], ms_res[part]), s, r)
        below = (mu <= 0).mean(axis=1)
        out[part] = np.minimum(1.0, 2 * np.minimum(below, (mu >= 0).mean(axis=1)))
    return out


def method_p(d: np.ndarray) -> np.ndarray | float:
    """Two-sided p of Δ = 0 for one (S, R) difference matrix or a batch (trials, S, R); R ≥ 2."""
    arr = np.asarray(d, dtype=float)
    batch = arr[None] if arr.ndim == 2 else arr
    s, r = batch.shape[-2:]
    if r < 2 or s < 2 or np.isnan(batch).any():
        raise ValueError("method_p needs S ≥ 2 sequences × R ≥ 2 seeds without NaN")
    p = p_values_from(*mean_squares(batch), s, r)
    return float(p[0]) if arr.ndim == 2 else p


def method_interval(d: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """The central 1 − alpha fiducial interval of Δ for one (S, R) difference matrix."""
    s, r = d.shape
    m, *ms = mean_squares(np.asarray(d, dtype=float)[None])
    lo, hi = np.quantile(_fiducial(m, tuple(ms), s, r)[0], [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _satterthwaite(sp: Spread, seqs: int, seeds: int) -> tuple[float, float]:
    """Standard error of the mean and its Satterthwaite df at the expected mean squares."""
    e1, e2, e3 = sp.cell**2 + seeds * sp.seq**2, sp.cell**2 + seqs * sp.seed**2, sp.cell**2
    comb = e1 + e2 - e3
    den = e1**2 / (seqs - 1) + e2**2 / (seeds - 1) + e3**2 / ((seqs - 1) * (seeds - 1))
    return math.sqrt(comb / (seqs * seeds)), (comb**2 / den if den > 0 else math.inf)


def power(delta: float, sp: Spread, seqs: int, seeds: int, alpha: float = ALPHA) -> float:
    """Approximate power of the method-level verdict at Δ (noncentral t, Satterthwaite df); 0 if it cannot call."""
    if seeds < 2 or seqs < 6:
        return 0.0
    se, df = _satterthwaite(sp, seqs, seeds)
    if se == 0.0:
        return 1.0 if delta else alpha
    crit, nc = sps.t.ppf(1 - alpha / 2, df), abs(delta) / se
    # scipy's noncentral t can give NaN far out in a tail, where that tail's share is 0 (or the power 1)
    upper, lower = np.nan_to_num([sps.nct.sf(crit, df, nc), sps.nct.cdf(-crit, df, nc)], nan=0.0)
    return 1.0 if nc > crit + 40 else float(min(1.0, upper + lower))


def minimum_detectable_effect(sp: Spread, seqs: int, seeds: int, target: float = 0.8,
                              alpha: float = ALPHA) -> float:
    """Smallest |Δ| called with `target` power at this design (inf when the design cannot call)."""
    if seeds < 2 or seqs < 6:
        return math.inf
    se, _ = _satterthwaite(sp, seqs, seeds)
    if se == 0.0:
        return 0.0
    hi = se
    while power(hi, sp, seqs, seeds, alpha) < target:
        hi *= 2
    return float(optimize.brentq(lambda x: power(x, sp, seqs, seeds, alpha) - target, 0.0, hi, xtol=1e-6 * hi))
