"""Occlusion claims with intervals: Δ ID consistency, Δ recall (per visibility bin) and Δ re-link rate (per gap bin)
between two entries, tested per sequence like the headline metrics (bench/analysis/stats.py), for both questions.

Each sequence gets one rate per entry, metric and bin from that entry's counts pooled over its seeds (ID consistency
= consistent / matched, recall = matched / gt boxes, re-link rate = relinked / gaps), and x_s = rate_A − rate_B in
points. A sequence without boxes (gaps, matches) in a bin for either entry has no rate there and drops out of that
bin, so each bin shows its own n; the exact sign-flip test over those sequences gives p and the interval, and with
5 or fewer left the bin is *too few to tell*. For the method, retrained (ablations: several seeds per entry), each
seed's rates stay apart and the bin's (sequence × seed) differences get method_level's crossed-model verdict on the
sequences with data in every seed of both entries. Each comparison's metrics × bins are one family, Holm-adjusted
together, since a dozen bins would otherwise call something by chance. (Not the whole table: with S sequences the
smallest p is 2 / 2^S, 0.002 at 10, so a family of 6 comparisons × 11 bins could never be called on synth.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bench.analysis import stats
from bench.core.errors import BenchError

METRICS = {  # name -> (kind, numerator, denominator)
    "ID consistency": ("visibility", "consistent", "matched"),
    "recall": ("visibility", "matched", "gt_boxes"),
    "re-link rate": ("gap", "relinked", "gaps"),
}


def sequence_counts(tables: dict[str, Any]) -> pd.DataFrame | None:
    """The two occlusion breakdowns' per-sequence counts as one long table for the paired tests over sequences
    (`bench.analysis.occlusion_stats`): tracker, seq, kind (visibility | gap), bin and the counts, 0 where a count
    belongs to the other kind. `tables`: breakdown name → BreakdownTables (a run's, or an ablation's pool, whose
    per-sequence rows carry their run key "<variant>/s<seed>" in a `run` column, used here as the tracker). None
    when either breakdown or its per-sequence table is missing."""
    from bench.evaluate.breakdowns.relink import Relink
    from bench.evaluate.breakdowns.visibility import VisibilityBins

    vis, rel = tables.get(VisibilityBins.name), tables.get(Relink.name)
    if vis is None or rel is None or vis.per_seq is None or rel.per_seq is None:
        return None
    zero = {"gt_boxes": 0, "matched": 0, "id_switches": 0, "consistent": 0, "gaps": 0, "relinked": 0}

    def long(per_seq: pd.DataFrame, kind: str, key: str, counts: tuple[str, ...]) -> pd.DataFrame:
        who = per_seq["run"] if "run" in per_seq else per_seq["tracker"]
        out = pd.DataFrame({"tracker": who, "seq": per_seq["seq"], "kind": kind, "bin": per_seq[key]})
        for c, v in zero.items():
            out[c] = per_seq[c].astype(int) if c in counts else v
        return out

    return pd.concat([long(vis.per_seq, "visibility", VisibilityBins.key, VisibilityBins.counts),
                      long(rel.per_seq, "gap", Relink.key, Relink.counts)], ignore_index=True)


def sequence_rates(per_sequence: pd.DataFrame, entry_of: dict[str, str] | None = None) -> pd.DataFrame:
    """Long frame (entry, seq, metric, bin, rate in points; NaN where the bin is empty) from per-sequence counts of
    `sequence_counts`, the runs of one entry (its seeds, `entry_of`: run -> entry) pooled."""
    counts = per_sequence.assign(entry=per_sequence["tracker"].map(entry_of) if entry_of else per_sequence["tracker"])
    cols = ["gt_boxes", "matched", "consistent", "gaps", "relinked"]
    pooled = counts.groupby(["entry", "seq", "kind", "bin"], sort=False)[cols].sum().reset_index()
    frames = []
    for metric, (kind, num, den) in METRICS.items():
        rows = pooled[pooled["kind"] == kind]
        rate = 100 * rows[num] / rows[den].where(rows[den] > 0)
        frames.append(pd.DataFrame({"entry": rows["entry"], "seq": rows["seq"], "metric": metric, "bin": rows["bin"],
                                    "rate": rate}))
    return pd.concat(frames, ignore_index=True)


def compare_bins(rates: pd.DataFrame, pairs: list[tuple[str, str]], intervals: bool = True) -> pd.DataFrame:
    """Per (A, B) pair, metric and bin: n sequences, mean Δ (points), sign-flip interval, p, Holm p over the pair's
    bins, verdict (`intervals=False`: no interval, for simulations; the verdict depends on p alone)."""
    rows = []
    keys = ["metric", "bin", "seq"]
    wide = rates.set_index([*keys, "entry"])["rate"].unstack("entry")  # the bins that exist, in the rates' order
    wide = wide.reindex(pd.MultiIndex.from_frame(rates[keys].drop_duplicates()))
    for a, b in pairs:
        if a not in wide or b not in wide:
            continue
        diff = wide[a] - wide[b]
        for (metric, bin_), g in diff.groupby(level=["metric", "bin"], sort=False):
            x = g.dropna().to_numpy(float)
            n = len(x)
            delta = float(x.mean()) if n else math.nan
            p = float(stats.sign_flip_p(x)) if n else 1.0
            lo, hi = stats.shift_interval(x) if n and intervals else (-math.inf, math.inf)
            rows.append({"a": a, "b": b, "metric": metric, "bin": bin_, "n": n, "delta": delta, "lo": lo, "hi": hi,
                         "p": p})
    out = pd.DataFrame(rows, columns=["a", "b", "metric", "bin", "n", "delta", "lo", "hi", "p"])
    out["p_adj"] = out["p"]
    for _, g in out.groupby(["a", "b"], sort=False):  # one family per comparison: its metrics × bins
        family = g.index[g["n"].map(stats.can_call).astype(bool)]
        if len(family) > 1:
            out.loc[family, "p_adj"] = stats.holm_adjust(out.loc[family, "p"].to_numpy(float))
    out["verdict"] = [stats.decide(r.delta, r.p_adj, r.n) if r.n else stats.TOO_FEW for r in out.itertuples()]
    return out


def seed_rates(per_sequence: pd.DataFrame, entry_seed: dict[str, tuple[str, int]]) -> pd.DataFrame:
    """Wide frame (entry, seed, seq, one column per 'metric bin') of per-(sequence, seed) rates in points, for the
    method-level question (each run is one seed of its entry: `entry_seed`: run -> (entry, seed))."""
    rates = sequence_rates(per_sequence)  # per run: entry = the run's key
    rates["key"] = rates["metric"] + " " + rates["bin"]
    wide = rates.pivot_table(index=["entry", "seq"], columns="key", values="rate", aggfunc="first", dropna=False,
                             sort=False).reset_index()
    runs = wide["entry"].map(entry_seed)
    return wide.assign(entry=[r[0] for r in runs], seed=[r[1] for r in runs])


def compare_bins_method(wide: pd.DataFrame, pairs: list[tuple[str, str]], untrained: set[str]) -> pd.DataFrame:
    """The method-level question per pair, metric and bin (seeds and sequences random, method_level's GPQ) on the
    sequences with a rate in every seed of both entries; Holm per pair. One seed of a trained entry: no answer."""
    from bench.analysis import method_level

    rows = []
    for a, b in pairs:
        seeds = {e: wide.loc[wide["entry"] == e, "seed"].nunique() for e in (a, b)}
        one_model = any(e not in untrained and seeds[e] < 2 for e in (a, b))
        for metric, (kind, _, _) in METRICS.items():
            for key in [c for c in wide.columns if c.startswith(metric + " ")]:
                try:
                    d = stats.paired_differences(wide, a, b, key)
                except BenchError:  # the bin is empty for one entry in every sequence (or seed)
                    d = np.zeros((0, max(seeds.values())))
                d = d[~np.isnan(d).any(axis=1)]
                n, r = d.shape
                delta = float(d.mean()) if n else math.nan
                if one_model or r < 2 or not stats.can_call(n):
                    verdict = stats.ONE_SEED if (one_model or r < 2) else stats.TOO_FEW
                    p, lo, hi = math.nan if verdict == stats.ONE_SEED else 1.0, -math.inf, math.inf
                else:
                    p, verdict = float(method_level.method_p(d)), ""
                    lo, hi = method_level.method_interval(d)
                rows.append({"a": a, "b": b, "metric": metric, "bin": key[len(metric) + 1:], "n": n, "delta": delta,
                             "lo": lo, "hi": hi, "p": p, "verdict": verdict})
    out = pd.DataFrame(rows, columns=["a", "b", "metric", "bin", "n", "delta", "lo", "hi", "p", "verdict"])
    out["p_adj"] = out["p"]
    for _, g in out.groupby(["a", "b"], sort=False):
        family = g.index[g["verdict"] == ""]
        if len(family) > 1:
            out.loc[family, "p_adj"] = stats.holm_adjust(out.loc[family, "p"].to_numpy(float))
    out["verdict"] = [r.verdict or stats.decide(r.delta, r.p_adj, r.n) for r in out.itertuples()]
    return out


def delta_table(comps: pd.DataFrame) -> pd.DataFrame:
    """Display frame: one row per metric and bin, one column per comparison, 'Δ [lo, hi] (n)' and the verdict when
    one is called."""
    table = pd.DataFrame()
    for (a, b), g in comps.groupby(["a", "b"], sort=False):
        cells = {}
        for r in g.itertuples(index=False):
            text = "–" if not r.n else stats._interval(r)
            called = f" {r.verdict}" if r.verdict in ("better", "worse") else ""
            cells[(r.metric, r.bin)] = f"{text} ({r.n}){called}"
        table[f"{a} vs {b}"] = pd.Series(cells)
    table.index = pd.MultiIndex.from_tuples(table.index, names=["metric", "bin"])
    return table.reset_index()


def where_sentences(comps: pd.DataFrame) -> list[str]:
    """One sentence per comparison: where the difference is (the called bins) and where it is not."""
    out = []
    for (a, b), g in comps.groupby(["a", "b"], sort=False):
        called = g[g["verdict"].isin(["better", "worse"])]
        testable = g[~g["verdict"].isin([stats.TOO_FEW, stats.ONE_SEED])]
        if called.empty:
            scope = ("in any bin" if len(testable) == len(g)
                     else f"in any of the {len(testable)} bins with 6 or more sequences")
            out.append(f"**{a} vs {b}**: no detectable difference in ID consistency, recall or re-link rate {scope} "
                       f"(Holm over its bins).")
            continue
        parts = [f"{r.metric} {r.verdict} at {'gap' if r.metric == 're-link rate' else 'visibility'} {r.bin} "
                 f"({stats._interval(r)} points, n = {r.n})" for r in called.itertuples(index=False)]
        out.append(f"**{a} vs {b}**: the difference is in {'; '.join(parts)}, and not detectable in the other "
                   f"{len(testable) - len(called)} testable bins (Holm over its bins).")
    return out


METHOD_TEXT = (
    "The method, retrained: the same bins with each seed's rates kept apart, so a trained model's effect shared by "
    "all its sequences is in the interval (the crossed sequence × seed model of the Δ tables above); a sequence "
    "drops out of a bin when any seed of either entry has nothing there."
)
TEXT = (
    "Is an occlusion difference real? Per visibility bin (ID consistency, recall) and per gap bin (re-link rate), each "
    "sequence's rate for each entry (its seeds' counts pooled) gives a per-sequence difference in points; the exact "
    "sign-flip test over sequences gives the 95% interval and the verdict, these trained models' question. A "
    "sequence with nothing in a bin drops out of that bin: n is the number of sequences left (5 or fewer: too few to "
    "tell). Each comparison's metrics × bins are one Holm family."
)
