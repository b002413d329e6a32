"""Design planner: from a pilot's observed spreads, how many sequences × seeds each question needs to detect Δ.

Pilot spreads per comparison (primary metric, display units) come from the crossed model of the per-(sequence, seed)
differences (method_level.spread): σ_seq, σ_seed (the pair's seed effect) and σ_cell. With one seed in the pilot
σ_seed is unknown and σ_cell cannot be told from σ_seq (their sum is shown as σ_seq, so more seeds are not credited).

Power per question at S sequences × R seeds:
- these models: the sign-flip test over sequences on seed means has the power of statsmodels' one-sample t power at
  sd √(σ_seq² + σ_cell²/R) (the seeds' effects are fixed: they are part of these models' Δ);
- the method, retrained: method_level.power (noncentral t at the expected mean squares, Satterthwaite df), which
  tests/test_plan.py checks against a simulation of the GPQ verdict itself at the planned design.
Either needs S ≥ 6 (the sign-flip test's floor) and the method R ≥ 2; a σ_seed > 0 bounds the method's power
whatever S is, so more seeds, not sequences, are then the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.power import TTestPower

from bench.analysis import method_level, stats
from bench.analysis.method_level import Spread

MAX_SEQS = 400
SEED_CHOICES = {"method": (2, 3, 5, 8, 10), "model": (1, 3, 5)}


@dataclass(frozen=True)
class Pilot:
    """One comparison's primary-metric spreads and the design that measured them."""

    comparison: str
    seqs: int
    seeds: int
    spread: Spread  # seed = NaN when the pilot had one seed


def pilot(values: pd.DataFrame, a: str, b: str, metric: str = "HOTA") -> Pilot:
    d = stats.paired_differences(values, a, b, metric) * (100.0 if metric in stats.PERCENT else 1.0)
    s, r = d.shape
    if r >= 2 and s >= 2:
        sp = method_level.spread(d)
    else:
        sp = Spread(float(np.std(d.mean(axis=1), ddof=1)) if s >= 2 else math.nan, math.nan, 0.0)
    return Pilot(f"{a} vs {b}", s, r, sp)


def power(level: str, delta: float, sp: Spread, seqs: int, seeds: int) -> float:
    """Power of `level`'s verdict at Δ on an S × R design with these spreads."""
    if not stats.can_call(seqs):
        return 0.0
    if level == "method":
        return method_level.power(delta, sp, seqs, seeds) if math.isfinite(sp.seed) else math.nan
    sd = math.sqrt(sp.seq**2 + sp.cell**2 / seeds)
    if sd < 1e-9 * abs(delta) or abs(delta) / sd > 50:  # no spread to speak of
        return 1.0
    return float(TTestPower().power(effect_size=abs(delta) / sd, nobs=seqs, alpha=stats.ALPHA))


def detectable(level: str, sp: Spread, seqs: int, seeds: int, target: float = stats.POWER) -> float:
    """Smallest |Δ| `level`'s verdict calls with `target` power at S × R (inf: it cannot call; NaN: unknown)."""
    if not stats.can_call(seqs) or (level == "method" and seeds < 2):
        return math.inf
    if level == "method":
        return method_level.minimum_detectable_effect(sp, seqs, seeds, target) if math.isfinite(sp.seed) else math.nan
    sd = math.sqrt(sp.seq**2 + sp.cell**2 / seeds)
    return float(TTestPower().solve_power(effect_size=None, nobs=seqs, alpha=stats.ALPHA, power=target)) * sd


def sequences_needed(level: str, delta: float, sp: Spread, seeds: int, target: float = stats.POWER) -> int | None:
    """Fewest sequences (≥ 6) for `target` power at Δ with `seeds` seeds; None when no S up to MAX_SEQS reaches it
    (for the method: the seed effect alone holds the power down) or the spread is unknown."""
    if level == "method" and (seeds < 2 or not math.isfinite(sp.seed)):
        return None
    lo, hi = 6, MAX_SEQS
    if power(level, delta, sp, hi, seeds) < target:
        return None
    if power(level, delta, sp, lo, seeds) >= target:
        return lo
    while hi - lo > 1:  # power grows with S
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if power(level, delta, sp, mid, seeds) < target else (lo, mid)
    return hi


def plan_table(pilots: list[Pilot], delta: float = 1.0, target: float = stats.POWER,
               design: tuple[int, int] | None = None) -> pd.DataFrame:
    """One row per comparison: its spreads, what `design` (default: the pilot's own) detects per question, and the
    sequences each question needs at several seed counts to detect Δ with `target` power."""
    rows = []
    for p in pilots:
        seqs, seeds = design or (p.seqs, p.seeds)
        sp = p.spread
        row = {"comparison": p.comparison, "pilot": f"{p.seqs} × {p.seeds}", "σ seq": _num(sp.seq),
               "σ seed": _num(sp.seed), "σ cell": _num(sp.cell), "design": f"{seqs} × {seeds}",
               "detects (method)": _num(detectable("method", sp, seqs, seeds, target)),
               "detects (models)": _num(detectable("model", sp, seqs, seeds, target))}
        for level, choices in SEED_CHOICES.items():
            if level == "method" and not math.isfinite(sp.seed):
                row[f"{level}: seeds: sequences"] = "unknown"
                continue
            cells = []
            for r in choices:
                n = sequences_needed(level, delta, sp, r, target)
                cells.append(f"{r}: {n if n is not None else '–'}")
            row[f"{level}: seeds: sequences"] = ", ".join(cells)
        rows.append(row)
    return pd.DataFrame(rows)


def _num(x: float) -> str:
    if math.isnan(x):
        return "unknown"
    return "n/a" if math.isinf(x) else f"{x:.1f}"


PLAN_TEXT = (
    "From this design's observed spreads of the {primary} difference (σ seq: sequence effect, σ seed: the seed "
    "effect shared by all sequences of one pair of trained models, σ cell: the rest; points): *detects* is the "
    "smallest |Δ| each question's verdict calls with {power:.0%} power at {design}; the last two columns give, per "
    "number of seeds, the sequences needed to detect Δ = {delta:g} with {power:.0%} power (–: not reachable with "
    "≤ {max_seqs} sequences at that many seeds; for the method a seed effect limits the power whatever the number "
    "of sequences). 'unknown': a one-seed pilot has no seed spread."
)
