"""Is a difference real? Paired comparisons of two tracker entries whose verdicts are wrong at most 5% of the time.

Two questions, each with its own verdict (`level`):
- **these models** (`level="model"`): would A beat B on new sequences like these, for the models that were trained?
  The sequences are the random units; training seeds, where there are several, are the ones that were run, averaged
  within each sequence.
- **the method, retrained** (`level="method"`): would A beat B again with another training seed, on new sequences?
  Seeds and sequences are both random: one trained model's effect is shared by every sequence it tracks, so it is
  not in the first question's interval (bench/analysis/method_level.py: the crossed sequence × seed model, why and
  how). With one seed this cannot be answered ("one seed: the claim holds for this trained model only"); between two
  untrained entries (`untrained`, e.g. ByteTrack) the method is the model and the answer is the first one's. A
  trained entry against an untrained one is answered with the trained side's seed effect as the seed term.

Method of the model-level question, and why this one. Two entries are paired on sequence and seed (an entry with a
single run, like the seed-independent ByteTrack, is paired with every seed of the other) and each sequence gets one
number, x_s = mean over seeds of A − B. Under "A and B are the same method" x_s is as likely to be −x_s as x_s, so
the **exact sign-flip randomization test** compares |mean x| with its value under all 2^S sign patterns (enumerated
up to S = 16, else 65,536 seeded random patterns counted with the observed one, which keeps the test valid). It needs
no normality and no variance estimate. The 95% interval is the set of shifts μ that the same test does not reject
for x − μ (test inversion), so an interval and its verdict never disagree.
**Too few to tell**: with S sequences the smallest attainable p is 2 / 2^S, above 0.05 for S ≤ 5; such a design
cannot call any difference whatever the data, which is said instead of a verdict (and no interval is given); the
method-level verdict keeps the same floor.
Weighed and not used:
- the percentile bootstrap over sequences (bench's earlier method): 3 sequences have 10 distinct resamples and no
  small-sample correction, measured 25% false verdicts at 3 × 1 and 51% at 2 × 1 (benchmarks/calibration.py);
- a t-interval on sequence means with S − 1 degrees of freedom: calibrated only if the S values are normal, which
  2–5 numbers cannot show, yet it calls differences there; at S ≥ 6 its power is close to the sign-flip test's, so
  it gives the minimum detectable effect below;
- a seed-level interval with the sequences fixed (stratified bootstrap, as rliable): it treats the (sequence, seed)
  cells as independent, but one trained model per seed is shared by every sequence.

Multiplicity, per table and per question. The primary metric (`[analysis] primary`, HOTA by default) carries the
verdict of a comparison; the primary p-values of one table (e.g. every variant vs the full model) are Holm-adjusted
together (`[analysis] holm_primaries = false` for a single planned comparison), and the other metrics are secondary,
their p-values Holm-adjusted over the table's whole family (every comparison × every secondary metric).

Minimum detectable effect (MDE): the smallest |Δ| of the primary metric that this design would call with 80% power,
from the observed spread: statsmodels' one-sample t power on x (S − 1 degrees of freedom) for these models,
method_level.minimum_detectable_effect for the method; none for S ≤ 5 (or one seed).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from statsmodels.stats.power import TTestPower

from bench.analysis import method_level
from bench.core import metric_catalog
from bench.core.errors import BenchError

HEADLINE = metric_catalog.HEADLINE  # HOTA, AssA, IDF1, MOTA, IDs
LOWER_IS_BETTER = set(metric_catalog.names(direction="lower"))
PERCENT = set(metric_catalog.names(kind="rate"))  # stored as fractions, shown in points
ALPHA = 0.05
POWER = 0.8
EXACT_UP_TO = 16  # sequences up to which all 2^S sign patterns are enumerated
RANDOM_FLIPS = 65_536  # sign patterns drawn (seeded) beyond that
TOO_FEW = "too few to tell"
ONE_SEED = "one seed: the claim holds for this trained model only"
VERDICTS = ("better", "worse", "no evidence", TOO_FEW, ONE_SEED)
LEVELS = ("method", "model")
QUESTION = {  # one sentence per level: what its Δ table answers
    "method": "**The method, retrained:** would A beat B again with another training seed, on new sequences like "
              "these (seeds and sequences both random; a trained model's effect shared by all its sequences is in "
              "the interval)?",
    "model": "**These trained models:** would these trained models of A beat B on new sequences like these "
             "(sequences random; the seeds run are averaged within each sequence)?",
}
METHOD = (
    "Every comparison answers two questions, each with its own verdict and table. "
    + QUESTION["method"] + " Its interval and p come from the crossed sequence × seed random-effects model "
    "(a generalized pivotal quantity on the two-way mean squares; an untrained entry such as ByteTrack has no seed "
    "effect, the trained side's seeds still count); with one seed it says *" + ONE_SEED + "*. "
    + QUESTION["model"] + " Its p comes from an exact sign-flip randomization test over sequences on the "
    "seed-averaged per-sequence differences, and its interval is the set of shifts that test does not reject. "
    "Δ is the mean over sequences and seeds of A − B, in points for rates and in ID switches per sequence for IDs. "
    "With 5 or fewer sequences no outcome can reach p ≤ 0.05: the verdict is *too few to tell* and no interval is "
    "given. {primary} is the primary metric and alone gives a comparison its verdict; {family} The other metrics "
    "are secondary, Holm-adjusted over the table's whole family (every comparison × secondary metric). MDE is the "
    "smallest {primary} difference the design would call with 80% power, from the observed spread."
)
FAMILY = {
    True: "the primary verdicts of one table are a family, Holm-adjusted together.",
    False: "each primary verdict stands alone (`analysis.holm_primaries = false`: a single planned comparison).",
}


@dataclass(frozen=True)
class Comparison:
    """One metric of A vs B: mean Δ (A − B), its 95% interval, raw and family-adjusted p, and the verdict for A."""

    a: str
    b: str
    metric: str
    primary: bool
    n_seqs: int
    n_seeds: int
    delta: float
    lo: float
    hi: float
    p: float
    p_adj: float  # Holm within its table and question: secondaries together, primaries together (holm_primaries)
    verdict: str
    mde: float  # primary metric only (NaN otherwise); inf when the design cannot call anything
    level: str = "model"  # which question: "model" (these trained models) or "method" (retrained)


def _sign_patterns(n: int, seed: int = 0) -> tuple[np.ndarray, bool]:
    """(patterns x n) matrix of ±1 and whether it is every pattern (exact) or a seeded random draw."""
    if n <= EXACT_UP_TO:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        return 1.0 - 2.0 * ((codes >> np.arange(n)) & 1), True
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(RANDOM_FLIPS, n)), False


def smallest_p(n: int) -> float:
    """The smallest p-value the two-sided sign-flip test can give with n units."""
    return 2.0 / 2**n if n <= EXACT_UP_TO else 1.0 / (RANDOM_FLIPS + 1)


def can_call(n: int, alpha: float = ALPHA) -> bool:
    return n >= 1 and smallest_p(n) <= alpha


def _p_value(flipped: np.ndarray, observed: np.ndarray, scale: np.ndarray, exact: bool) -> np.ndarray:
    """Share of patterns whose |mean| (rows of `flipped`) reaches the observed one; a relative tolerance keeps exact
    ties tied, and a random draw counts the observed pattern too (which keeps the test valid)."""
    count = (flipped >= observed[:, None] - 1e-12 * scale[:, None]).sum(axis=1)
    n = flipped.shape[1]
    return count / n if exact else (count + 1) / (n + 1)


def sign_flip_p(x: np.ndarray, chunk: int = 64) -> np.ndarray | float:
    """Two-sided p of mean(x) = 0 by the sign-flip test; `x` is one sample (n,) or a batch of samples (trials, n)."""
    arr = np.asarray(x, dtype=float)
    batch = np.atleast_2d(arr)
    if batch.shape[-1] == 0 or np.isnan(batch).any():
        raise ValueError("sign_flip_p needs non-empty samples without NaN")
    n = batch.shape[-1]
    signs, exact = _sign_patterns(n)
    out = np.empty(batch.shape[0])
    for i in range(0, batch.shape[0], chunk):
        part = batch[i : i + chunk]
        flipped = np.abs(part @ signs.T) / n
        out[i : i + chunk] = _p_value(flipped, np.abs(part.mean(axis=1)), np.abs(part).mean(axis=1), exact)
    return float(out[0]) if arr.ndim == 1 else out


def shift_interval(x: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """The shifts μ the sign-flip test does not reject for x − μ; (−inf, inf) when the design cannot reject."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if not can_call(n, alpha):
        return -math.inf, math.inf
    signs, exact = _sign_patterns(n)
    flips, share = signs @ x / n, signs.mean(axis=1)  # a pattern's mean of x − μ is flips − μ·share
    m, scale = float(x.mean()), float(np.abs(x).mean()) + 1.0

    def p(mu: float) -> float:
        flipped = np.abs(flips - mu * share)[None]
        return float(_p_value(flipped, np.array([abs(m - mu)]), np.array([scale]), exact)[0])

    span = float(x.max() - x.min()) + 1.0

    def edge(outer: float) -> float:  # bisection between the estimate (p = 1) and a point beyond every value
        inner = m
        for _ in range(60):
            mid = (inner + outer) / 2
            inner, outer = (mid, outer) if p(mid) > alpha else (inner, mid)
        return (inner + outer) / 2

    return edge(float(x.min()) - span), edge(float(x.max()) + span)


def minimum_detectable_effect(x: np.ndarray, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest |mean Δ| called with `power` at this many units and this spread (inf: the design cannot call)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if not can_call(n, alpha):
        return math.inf
    sd = float(np.std(x, ddof=1))
    if sd == 0.0:
        return 0.0
    d = TTestPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, alternative="two-sided")
    return float(d) * sd


def decide(delta: float, p: float, n: int, lower_is_better: bool = False, alpha: float = ALPHA) -> str:
    if not can_call(n, alpha):
        return TOO_FEW
    if p > alpha or delta == 0:
        return "no evidence"
    return "better" if (delta < 0) == lower_is_better else "worse"


def paired_differences(values: pd.DataFrame, a: str, b: str, metric: str) -> np.ndarray:
    """S x R array of A - B from a long frame (entry, seed, seq, metrics...), paired on sequence and seed.

    An entry with one seed (ByteTrack in an ablation) is paired with every seed of the other."""
    tables = []
    for entry in (a, b):
        rows = values[values["entry"] == entry]
        if rows.empty:
            raise BenchError(f"no per-sequence values for {entry!r}")
        tables.append(rows.pivot_table(index="seq", columns="seed", values=metric, aggfunc="first"))
    ta, tb = tables
    seqs = ta.index.intersection(tb.index)
    if seqs.empty:
        raise BenchError(f"{a!r} and {b!r} share no sequence")
    ta, tb = ta.loc[seqs], tb.loc[seqs]
    if ta.shape[1] == 1 and tb.shape[1] > 1:
        ta = pd.DataFrame(np.repeat(ta.to_numpy(), tb.shape[1], axis=1), index=seqs, columns=tb.columns)
    elif tb.shape[1] == 1 and ta.shape[1] > 1:
        tb = pd.DataFrame(np.repeat(tb.to_numpy(), ta.shape[1], axis=1), index=seqs, columns=ta.columns)
    seeds = ta.columns.intersection(tb.columns)
    if seeds.empty:
        raise BenchError(f"{a!r} and {b!r} share no seed")
    return ta[seeds].to_numpy(dtype=float) - tb[seeds].to_numpy(dtype=float)


def compare(values: pd.DataFrame, a: str, b: str, primary: str = "HOTA", metrics: list[str] | None = None,
            level: str = "model", untrained: Collection[str] = ()) -> list[Comparison]:
    """A vs B on the primary metric and the secondaries (unadjusted: `holm` adjusts a table's family), answering
    `level`'s question (see the module doc); `untrained` names entries without training (e.g. bytetrack)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    metrics = metrics or [primary, *(m for m in HEADLINE if m != primary)]
    if level == "method" and a in untrained and b in untrained:  # nothing trained: the method is the model
        return [replace(c, level="method") for c in compare(values, a, b, primary, metrics)]
    # a trained entry run with one seed (a trained reference run once) has one model: nothing about its method
    one_model = level == "method" and any(
        e not in untrained and values.loc[values["entry"] == e, "seed"].nunique() < 2 for e in (a, b))
    out = []
    for m in metrics:
        d = paired_differences(values, a, b, m) * (100.0 if m in PERCENT else 1.0)
        if np.isnan(d).any():
            raise BenchError(f"{a!r} vs {b!r}: metric {m} has missing per-sequence values")
        if level == "model":
            out.append(_model(a, b, m, m == primary, d))
        else:
            out.append(_method(a, b, m, m == primary, d, one_model))
    return out


def _model(a: str, b: str, metric: str, primary: bool, d: np.ndarray) -> Comparison:
    x = d.mean(axis=1)
    n, delta = len(x), float(x.mean())
    p = sign_flip_p(x)
    lo, hi = shift_interval(x)
    mde = minimum_detectable_effect(x) if primary else math.nan
    return Comparison(a, b, metric, primary, n, d.shape[1], delta, lo, hi, p, p,
                      decide(delta, p, n, metric in LOWER_IS_BETTER), mde)


def _method(a: str, b: str, metric: str, primary: bool, d: np.ndarray, one_model: bool = False) -> Comparison:
    n, seeds, delta = d.shape[0], d.shape[1], float(d.mean())
    if seeds < 2 or one_model:
        return Comparison(a, b, metric, primary, n, seeds, delta, -math.inf, math.inf, math.nan, math.nan,
                          ONE_SEED, math.inf if primary else math.nan, "method")
    if not can_call(n):
        return Comparison(a, b, metric, primary, n, seeds, delta, -math.inf, math.inf, 1.0, 1.0, TOO_FEW,
                          math.inf if primary else math.nan, "method")
    p = float(method_level.method_p(d))
    lo, hi = method_level.method_interval(d)
    mde = method_level.minimum_detectable_effect(method_level.spread(d), n, seeds) if primary else math.nan
    return Comparison(a, b, metric, primary, n, seeds, delta, lo, hi, p, p,
                      decide(delta, p, n, metric in LOWER_IS_BETTER), mde, "method")


def compare_levels(values: pd.DataFrame, a: str, b: str, primary: str = "HOTA",
                   untrained: Collection[str] = ()) -> list[Comparison]:
    """Both questions' comparisons of A vs B: the method's first, then these models'."""
    return [c for level in LEVELS for c in compare(values, a, b, primary, level=level, untrained=untrained)]


def holm_adjust(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest of m times (m − i), running maximum
    over the sorted order, capped at 1. Equal to statsmodels' `multipletests(p, method="holm")[1]` (tested over random
    families); written out because that branch of statsmodels calls `gc.collect()` on every call, 0.1–1 s in a process
    holding torch's and pandas' heaps, which made the occlusion calibration test alone take three minutes."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return out


def holm(comps: pd.DataFrame, primaries: bool = True) -> pd.DataFrame:
    """Holm-adjust one table's p-values, per question (level): the secondary metrics over the whole family, and the
    primary metric over the table's comparisons when `primaries`; then redo the verdicts. Comparisons that cannot
    be called (too few to tell, one seed) are left out of the families."""
    out = comps.copy()
    if "level" not in out:
        out["level"] = "model"
    out["p_adj"] = out["p"]
    callable_ = ~out["verdict"].isin([TOO_FEW, ONE_SEED])
    prim = out["primary"].astype(bool)
    families = [~prim, prim] if primaries else [~prim]
    for level in out["level"].unique():
        for family in families:
            rows = family & callable_ & (out["level"] == level)
            if rows.sum() > 1:
                out.loc[rows, "p_adj"] = holm_adjust(out.loc[rows, "p"].to_numpy(float))
    out["verdict"] = [
        decide(r.delta, r.p_adj, int(r.n_seqs), r.metric in LOWER_IS_BETTER) if r.verdict not in (TOO_FEW, ONE_SEED)
        else r.verdict for r in out.itertuples(index=False)
    ]
    return out


def comparisons_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) for c in comparisons], columns=[f for f in Comparison.__dataclass_fields__])


def values_from_metrics(metrics: pd.DataFrame, tracker: str | None = None, entry: str | None = None,
                        seed: int = 0) -> pd.DataFrame:
    """Long frame (entry, seed, seq, metrics...) of a run's metrics.csv rows (COMBINED left out)."""
    m = metrics[metrics["seq"] != "COMBINED"]
    if tracker is not None:
        m = m[m["tracker"] == tracker]
    return m.assign(entry=entry if entry is not None else m["tracker"], seed=seed)


def ablation_comparisons(values: pd.DataFrame, variants: list[str], baseline: str, reference: str,
                         primary: str = "HOTA", holm_primaries: bool = True,
                         untrained: Collection[str] = ()) -> pd.DataFrame:
    """Every variant vs the baseline variant, and every variant vs the reference tracker: two tables, two families,
    each with both questions (`untrained`: the reference, when it has no training, e.g. bytetrack)."""
    vs_base = [c for v in variants if v != baseline for c in compare_levels(values, v, baseline, primary, untrained)]
    vs_ref = [c for v in variants for c in compare_levels(values, v, reference, primary, untrained)]
    frames = [holm(comparisons_frame(c), holm_primaries) for c in (vs_base, vs_ref) if c]
    return pd.concat(frames, ignore_index=True)


def run_comparisons(values: pd.DataFrame, trackers: list[str], primary: str = "HOTA", holm_primaries: bool = True,
                    untrained: Collection[str] = ()) -> pd.DataFrame:
    """Every pair of trackers, the later one in run order against the earlier one: one table, one family per
    question."""
    comps = [c for i, b in enumerate(trackers) for a in trackers[i + 1 :]
             for c in compare_levels(values, a, b, primary, untrained)]
    return holm(comparisons_frame(comps), holm_primaries)


def _signed(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def _interval(c) -> str:
    if not math.isfinite(c.lo) or not math.isfinite(c.hi):
        return f"{_signed(c.delta, 1)} [n/a]"
    return f"{_signed(c.delta, 1)} [{_signed(c.lo, 1)}, {_signed(c.hi, 1)}]"


def delta_table(comps: pd.DataFrame, label: str = "comparison", level: str | None = None) -> pd.DataFrame:
    """One row per (A, B): n = sequences × seeds, 'Δ [lo, hi]' per metric (primary first), the primary's MDE, the
    comparison's verdict (primary metric) and the secondary metrics that pass Holm; `level` picks one question's
    rows of a frame holding both."""
    if level is not None and "level" in comps:
        comps = comps[comps["level"] == level]
    rows = []
    for (a, b), g in comps.groupby(["a", "b"], sort=False):
        g = g.sort_values("primary", ascending=False, kind="stable")
        prim = g[g["primary"].astype(bool)].iloc[0]
        row = {label: f"{a} vs {b}", "n": f"{prim['n_seqs']} × {prim['n_seeds']}"}
        for c in g.itertuples(index=False):  # one decimal throughout: a mean of per-sequence ID switch counts
            row[f"Δ{c.metric}"] = _interval(c)
        row[f"MDE {prim['metric']}"] = "n/a" if not math.isfinite(prim["mde"]) else f"{prim['mde']:.1f}"
        row["verdict"] = prim["verdict"]
        sec = g[~g["primary"].astype(bool)]
        called = [f"{c.metric} {c.verdict}" for c in sec.itertuples(index=False) if c.verdict in ("better", "worse")]
        row["secondary (Holm)"] = ", ".join(called) or "–"
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame, baseline: str, order: list[str]) -> pd.DataFrame:
    """Ablation summary from ablation.csv: mean ± std over seeds per variant (rates in %), seeds counted."""
    cols = [c for c in HEADLINE + ["mAP", "rank1", "train_seconds"] if c in table]
    grouped = table.groupby("variant")[cols]
    mean, std = grouped.mean(), grouped.std(ddof=0).fillna(0.0)
    n = table.groupby("variant").size()
    out = pd.DataFrame(index=[v for v in order if v in mean.index])
    out.index.name = "variant"
    out["seeds"] = n.reindex(out.index)
    for c in cols:
        scale, digits = metric_catalog.CATALOG[c].scale, metric_catalog.digits(c)
        out[c] = [
            f"{mean.loc[v, c] * scale:.{digits}f} ± {std.loc[v, c] * scale:.{digits}f}"
            if not np.isnan(mean.loc[v, c])
            else "–"
            for v in out.index
        ]
    return out.rename(columns=_HEADERS)


def summary_means(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Numeric means over seeds in display units (for picking the best value per column)."""
    cols = [c for c in HEADLINE + ["mAP", "rank1", "train_seconds"] if c in table]
    mean = table.groupby("variant")[cols].mean().reindex([v for v in order if v in set(table["variant"])])
    for c in cols:
        mean[c] = (mean[c] * metric_catalog.CATALOG[c].scale).round(metric_catalog.digits(c))
    return mean.rename(columns=_HEADERS)


_HEADERS = {m.name: m.header for m in metric_catalog.CATALOG.values() if m.display}  # rank1 -> rank-1, ...
