"""Calibration by simulation: how often does a verdict method say better/worse when there is no difference, and how
often does it call a real one? Used by tests/test_calibration.py (bounds asserted) and benchmarks/calibration.py
(the full table, with bench's earlier percentile bootstrap beside the current method).

A trial draws per-(sequence, seed) differences d = effect + u_seq + e_seed with u ~ N(0, sd_seq) shared by a
sequence's seeds and e ~ N(0, sd_seed) per cell, the designs bench runs (2-20 sequences x 1-5 seeds) in two
regimes: sequence effects dominate, or seed noise only. These calibrate the model-level question (these trained
models), for which the seeds run are fixed.

The shared-seed regimes below calibrate the method-level question (the method, retrained): each trained model carries
an effect shared by all its sequences, so the model-level verdict's calls under a method-level null are false for the
method question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from bench.analysis import method_level, stats

REGIMES = {"sequence effects dominate": (1.0, 0.25), "seed noise only": (0.0, 1.0)}  # (sd_seq, sd_seed)
DESIGNS = [(s, r) for s in (2, 3, 5, 10, 20) for r in (1, 3, 5)]
EFFECT_SD = 1.2  # power is measured at Δ = 1.2 x the sd of a sequence's seed-mean difference


@dataclass(frozen=True)
class Cell:
    method: str
    regime: str
    seqs: int
    seeds: int
    trials: int
    rate: float  # share of trials with a better/worse verdict
    upper: float  # upper end of its 95% Clopper-Pearson interval


def draw(seqs: int, seeds: int, regime: str, trials: int, effect_sd: float, rng: np.random.Generator) -> np.ndarray:
    """(trials, seqs, seeds) differences; `effect_sd` in units of the sd of a sequence's seed mean."""
    sd_seq, sd_seed = REGIMES[regime]
    effect = effect_sd * np.sqrt(sd_seq**2 + sd_seed**2 / seeds)
    u = rng.normal(0.0, sd_seq, size=(trials, seqs, 1))
    e = rng.normal(0.0, sd_seed, size=(trials, seqs, seeds))
    return effect + u + e


def current_calls(d: np.ndarray) -> np.ndarray:
    """bench.analysis.stats' verdict on each trial: a better/worse call (True) or not."""
    x = d.mean(axis=2)
    if not stats.can_call(x.shape[1]):
        return np.zeros(len(x), dtype=bool)
    return stats.sign_flip_p(x) <= stats.ALPHA


def bootstrap_calls(d: np.ndarray, rng: np.random.Generator, resamples: int = 2_000) -> np.ndarray:
    """bench's earlier verdict (before issue 18): a 95% percentile bootstrap drawing sequences, then seeds within each
    drawn sequence; a call when the interval excludes 0. Kept here only to measure it."""
    trials, s, r = d.shape
    calls = np.empty(trials, dtype=bool)
    for t in range(trials):
        rows = rng.integers(0, s, size=(resamples, s))
        cols = rng.integers(0, r, size=(resamples, s, r))
        means = d[t][rows[:, :, None], cols].mean(axis=(1, 2))
        lo, hi = np.quantile(means, [0.025, 0.975])
        calls[t] = lo > 0 or hi < 0
    return calls


def cell(method: str, regime: str, seqs: int, seeds: int, trials: int, effect_sd: float = 0.0,
         seed: int = 0) -> Cell:
    rng = np.random.default_rng([seed, seqs, seeds, list(REGIMES).index(regime), int(effect_sd * 1000)])
    d = draw(seqs, seeds, regime, trials, effect_sd, rng)
    calls = current_calls(d) if method == "sign-flip" else bootstrap_calls(d, rng)
    k = int(calls.sum())
    upper = float(proportion_confint(k, trials, alpha=0.05, method="beta")[1])
    return Cell(method, regime, seqs, seeds, trials, k / trials, upper)


# Shared seed effects (issue 26): each trained model carries an effect shared by all its sequences. A trial draws
# per-(sequence, seed) differences d = Δ + v_seq + c_seed + e in HOTA points: cell sd 3.5 (the spread a synth
# comparison shows), a seed effect of sd SEED_SDS and, in the second regime, a sequence effect of sd 2.
CELL_SD = 3.5
SEED_SDS = (0.0, 0.5, 1.0, 1.5, 2.0)
SHARED_REGIMES = {"seed effects": 0.0, "seed + sequence effects": 2.0}  # name -> sequence sd
SHARED_DESIGNS = [(s, r) for s in (10, 20) for r in (1, 3, 5)]
SHARED_EFFECT = 2.0  # power is measured at Δ = 2 points
LEVELS = ("method", "model")


def draw_shared(seqs: int, seeds: int, seed_sd: float, seq_sd: float, trials: int, delta: float,
                rng: np.random.Generator) -> np.ndarray:
    """(trials, seqs, seeds) differences with a seed effect shared by every sequence of a trained pair."""
    v = rng.normal(0.0, seq_sd, size=(trials, seqs, 1))
    c = rng.normal(0.0, seed_sd, size=(trials, 1, seeds))
    return delta + v + c + rng.normal(0.0, CELL_SD, size=(trials, seqs, seeds))


def level_calls(d: np.ndarray, level: str) -> np.ndarray:
    """bench.analysis.stats' better/worse call (True) per trial, for one question; 'one seed' and 'too few to tell'
    are never a call."""
    trials, s, r = d.shape
    if not stats.can_call(s) or (level == "method" and r < 2):
        return np.zeros(trials, dtype=bool)
    if level == "model":
        return stats.sign_flip_p(d.mean(axis=2)) <= stats.ALPHA
    return method_level.method_p(d) <= stats.ALPHA


def satterthwaite_calls(d: np.ndarray) -> np.ndarray:
    """The weighed alternative to the method-level GPQ: a t test with Satterthwaite df on the same mean squares.
    Kept here only to measure it."""
    trials, s, r = d.shape
    if r < 2:
        return np.zeros(trials, dtype=bool)
    m, ms_seq, ms_seed, ms_res = method_level.mean_squares(d)
    comb = np.maximum(ms_seq + ms_seed - ms_res, ms_res)
    den = ms_seq**2 / (s - 1) + ms_seed**2 / (r - 1) + ms_res**2 / ((s - 1) * (r - 1))
    t = m / np.sqrt(comb / (s * r))
    return 2 * sps.t.sf(np.abs(t), comb**2 / den) <= stats.ALPHA


def shared_cell(level: str, regime: str, seqs: int, seeds: int, seed_sd: float, trials: int, delta: float = 0.0,
                seed: int = 0) -> Cell:
    """Share of better/worse verdicts of `level` ("method", "model" or "satterthwaite") in one cell of the shared
    seed effect regimes; under delta = 0 it is the false rate for the method question."""
    rng = np.random.default_rng([seed, seqs, seeds, list(SHARED_REGIMES).index(regime), int(seed_sd * 1000),
                                 int(delta * 1000), 26])
    d = draw_shared(seqs, seeds, seed_sd, SHARED_REGIMES[regime], trials, delta, rng)
    calls = satterthwaite_calls(d) if level == "satterthwaite" else level_calls(d, level)
    k = int(calls.sum())
    upper = float(proportion_confint(k, trials, alpha=0.05, method="beta")[1])
    return Cell(level, regime, seqs, seeds, trials, k / trials, upper)
