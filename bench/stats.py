"""Is a difference real? Paired bootstrap confidence intervals over sequences (and seeds) for two tracker entries.

Method. Two entries A and B (two trackers of one run, or an ablation variant and its baseline / ByteTrack) are
scored on the same sequences; where seeds exist they are paired by seed (an entry with a single run, like the
seed-independent ByteTrack, is paired with every seed of the other). The per-(sequence, seed) differences
d = A - B of each headline metric form an S x R array. The estimate is the mean of d; its 95% confidence interval
is the percentile interval of that mean over `RESAMPLES` hierarchical bootstrap resamples: draw S sequences with
replacement, then for each drawn sequence R seeds with replacement (seeded numpy generator, vectorised). Sequences
are the outer level because they are the units that vary most and are few; the seeds inside a sequence share its
content. Verdict: "better" when the whole interval lies on the good side of 0 (above for rates, below for IDs,
where lower is better), "worse" when it lies on the bad side, otherwise "no evidence" (the interval covers 0).
`scipy.stats.bootstrap` resamples one level only, so it does not fit the two-level design; it is used in the
tests as a cross-check of the one-seed case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchError

HEADLINE = ["HOTA", "AssA", "IDF1", "MOTA", "IDs"]
LOWER_IS_BETTER = {"IDs", "FP", "FN"}
PERCENT = {"HOTA", "DetA", "AssA", "MOTA", "IDF1", "mAP", "rank1"}  # stored as fractions, shown in points
RESAMPLES = 10_000
LEVEL = 0.95
METHOD = (
    "Δ is the mean over sequences (and seeds, paired by seed) of the per-sequence difference A − B, in points for "
    "rates and in ID switches per sequence for IDs. The 95% interval is a percentile bootstrap with {resamples:,} "
    "resamples that draws sequences with replacement and then seeds within each drawn sequence; a verdict of better "
    "or worse needs the whole interval on one side of 0 (IDs: lower is better), otherwise there is no evidence."
)


@dataclass(frozen=True)
class Comparison:
    """One metric of A vs B: mean Δ (A - B) with its bootstrap interval and the verdict for A."""

    a: str
    b: str
    metric: str
    n_seqs: int
    n_seeds: int
    delta: float
    lo: float
    hi: float
    verdict: str


def bootstrap_mean(d: np.ndarray, resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL) -> tuple:
    """Mean of an S x R difference array and its percentile interval, resampling rows then columns within rows."""
    d = np.asarray(d, dtype=float)
    if d.ndim == 1:
        d = d[:, None]
    if d.size == 0 or np.isnan(d).any():
        raise ValueError("bootstrap_mean needs a non-empty array without NaN")
    s, r = d.shape
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, s, size=(resamples, s))
    cols = rng.integers(0, r, size=(resamples, s, r)) if r > 1 else np.zeros((resamples, s, 1), dtype=np.int64)
    means = d[rows[:, :, None], cols].mean(axis=(1, 2))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(d.mean()), float(lo), float(hi)


def verdict(lo: float, hi: float, lower_is_better: bool = False) -> str:
    if lo > 0:
        return "worse" if lower_is_better else "better"
    if hi < 0:
        return "better" if lower_is_better else "worse"
    return "no evidence"


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


def compare(
    values: pd.DataFrame, a: str, b: str, metrics: list[str] = HEADLINE, resamples: int = RESAMPLES, seed: int = 0
) -> list[Comparison]:
    """A vs B on every metric; rates are compared in points (x100)."""
    out = []
    for m in metrics:
        d = paired_differences(values, a, b, m) * (100.0 if m in PERCENT else 1.0)
        delta, lo, hi = bootstrap_mean(d, resamples, seed)
        out.append(Comparison(a, b, m, d.shape[0], d.shape[1], delta, lo, hi, verdict(lo, hi, m in LOWER_IS_BETTER)))
    return out


def comparisons_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    return pd.DataFrame([c.__dict__ for c in comparisons])


def run_values(run_dir: Path, tracker: str | None = None, entry: str | None = None, seed: int = 0) -> pd.DataFrame:
    """Long frame (entry, seed, seq, metrics...) of a run folder's per-sequence rows (COMBINED left out)."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        raise BenchError("missing run file", path, hint="pass a folder written by `bench run`")
    m = pd.read_csv(path)
    m = m[m["seq"] != "COMBINED"]
    if tracker is not None:
        m = m[m["tracker"] == tracker]
    return m.assign(entry=entry if entry is not None else m["tracker"], seed=seed)


def ablation_runs(out_dir: Path, info: dict) -> dict[tuple[str, int], Path]:
    """(variant, seed) -> run folder of an ablation (ByteTrack as seed 0); missing folders are left out."""
    runs = {("bytetrack", 0): out_dir / "bytetrack"}
    for seed in range(int(info["seeds"])):
        for v in info["variants"]:
            runs[(v, seed)] = out_dir / f"{v}-s{seed}"
    return {k: p for k, p in runs.items() if (p / "metrics.csv").is_file()}


def ablation_values(out_dir: Path, info: dict) -> pd.DataFrame | None:
    """Per-(variant, seed, sequence) metrics from the ablation's run folders; None when they are not all there."""
    runs = ablation_runs(out_dir, info)
    if len(runs) < 1 + len(info["variants"]) * int(info["seeds"]):
        return None
    frames = [
        run_values(p, "bytetrack" if v == "bytetrack" else "finetrack", entry=v, seed=s) for (v, s), p in runs.items()
    ]
    return pd.concat(frames, ignore_index=True)


def ablation_comparisons(values: pd.DataFrame, info: dict, resamples: int = RESAMPLES) -> pd.DataFrame:
    """Every variant vs the baseline variant and vs ByteTrack."""
    comps = []
    for v in info["variants"]:
        if v != info["baseline"]:
            comps += compare(values, v, info["baseline"], resamples=resamples)
    for v in info["variants"]:
        comps += compare(values, v, "bytetrack", resamples=resamples)
    return comparisons_frame(comps)


def run_comparisons(values: pd.DataFrame, trackers: list[str], resamples: int = RESAMPLES) -> pd.DataFrame:
    """Every pair of trackers, the later one in run order against the earlier one."""
    comps = []
    for i, b in enumerate(trackers):
        for a in trackers[i + 1 :]:
            comps += compare(values, a, b, resamples=resamples)
    return comparisons_frame(comps)


def _signed(x: float, digits: int) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def delta_table(comps: pd.DataFrame, label: str = "comparison") -> pd.DataFrame:
    """One row per (A, B): 'Δ [lo, hi]' per metric, n = sequences × seeds, and a verdict naming the metrics."""
    rows = []
    for (a, b), g in comps.groupby(["a", "b"], sort=False):
        row = {label: f"{a} vs {b}", "n": f"{g['n_seqs'].iloc[0]} × {g['n_seeds'].iloc[0]}"}
        for _, c in g.iterrows():  # one decimal throughout: a mean of per-sequence ID switch counts is fractional
            row[f"Δ{c['metric']}"] = f"{_signed(c['delta'], 1)} [{_signed(c['lo'], 1)}, {_signed(c['hi'], 1)}]"
        better = [c["metric"] for _, c in g.iterrows() if c["verdict"] == "better"]
        worse = [c["metric"] for _, c in g.iterrows() if c["verdict"] == "worse"]
        parts = ([f"better {', '.join(better)}"] if better else []) + ([f"worse {', '.join(worse)}"] if worse else [])
        row["verdict"] = "; ".join(parts) or "no evidence"
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
        scale = 100.0 if c in PERCENT else 1.0
        digits = 0 if c in ("IDs", "train_seconds") else 1
        out[c] = [
            f"{mean.loc[v, c] * scale:.{digits}f} ± {std.loc[v, c] * scale:.{digits}f}"
            if not np.isnan(mean.loc[v, c])
            else "–"
            for v in out.index
        ]
    return out.rename(columns={"train_seconds": "train s", "rank1": "rank-1"})


def summary_means(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Numeric means over seeds in display units (for picking the best value per column)."""
    cols = [c for c in HEADLINE + ["mAP", "rank1", "train_seconds"] if c in table]
    mean = table.groupby("variant")[cols].mean().reindex([v for v in order if v in set(table["variant"])])
    for c in cols:
        mean[c] = (mean[c] * (100.0 if c in PERCENT else 1.0)).round(0 if c in ("IDs", "train_seconds") else 1)
    return mean.rename(columns={"train_seconds": "train s", "rank1": "rank-1"})


def load_ablation_info(out_dir: Path) -> tuple[dict, pd.DataFrame]:
    for name in ("ablation.json", "ablation.csv"):
        if not (out_dir / name).is_file():
            raise BenchError("missing ablation file", out_dir / name, hint="pass a folder written by `bench ablate`")
    return json.loads((out_dir / "ablation.json").read_text()), pd.read_csv(out_dir / "ablation.csv")
