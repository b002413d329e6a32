"""Occlusion claims with intervals: per-sequence rates, sequences without data drop out of a bin (n shown), the
paired sign-flip test per bin, Holm over the table, and the where/where-not sentence; calibrated under no difference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from bench.analysis import occlusion_stats, stats
from bench.evaluate.occlusion import GAP_BINS, VIS_BINS


def _counts(rng, entries: dict[str, dict], seqs: int = 10) -> pd.DataFrame:
    """Per-sequence counts: entries[name] = {"consistency": {bin: p}, "recall": p, "relink": p}; binomial draws."""
    rows = []
    for name, spec in entries.items():
        for s in range(seqs):
            for b in VIS_BINS:
                gt = 0 if (b == VIS_BINS[0] and s == 0) else 200  # sequence 0 never has a box below .25
                matched = rng.binomial(gt, spec["recall"])
                consistent = rng.binomial(matched, spec["consistency"].get(b, 0.8))
                rows.append({"tracker": name, "seq": f"S{s}", "kind": "visibility", "bin": b, "gt_boxes": gt,
                             "matched": matched, "id_switches": 0, "consistent": consistent, "gaps": 0,
                             "relinked": 0})
            for b in GAP_BINS:
                gaps = 0 if (b == ">30" and s >= 3) else 40  # long gaps in 3 sequences only
                rows.append({"tracker": name, "seq": f"S{s}", "kind": "gap", "bin": b, "gt_boxes": 0, "matched": 0,
                             "id_switches": 0, "consistent": 0, "gaps": gaps,
                             "relinked": rng.binomial(gaps, spec["relink"])})
    return pd.DataFrame(rows)


def test_a_difference_in_one_bin_is_found_there_and_not_elsewhere():
    rng = np.random.default_rng(0)
    per = _counts(rng, {"a/s0": {"consistency": {"[.25, .5)": 0.95}, "recall": 0.6, "relink": 0.7},
                        "a/s1": {"consistency": {"[.25, .5)": 0.95}, "recall": 0.6, "relink": 0.7},
                        "b/s0": {"consistency": {}, "recall": 0.6, "relink": 0.7}})
    rates = occlusion_stats.sequence_rates(per, {"a/s0": "a", "a/s1": "a", "b/s0": "b"})
    # a's two seeds are pooled within each sequence: one rate per entry, sequence, metric and bin
    assert len(rates[(rates["entry"] == "a") & (rates["metric"] == "recall")]) == 10 * 4
    comps = occlusion_stats.compare_bins(rates, [("a", "b")]).set_index(["metric", "bin"])
    hit = comps.loc[("ID consistency", "[.25, .5)")]
    assert hit["verdict"] == "better" and hit["n"] == 10 and hit["lo"] > 0 and hit["delta"] == pytest.approx(15, abs=3)
    assert comps.loc[("recall", "[0, .25)"), "n"] == 9  # sequence 0 has no box in the bin: it drops out
    assert comps.loc[("re-link rate", ">30"), "verdict"] == stats.TOO_FEW  # 3 sequences with long gaps
    others = comps.drop(index=("ID consistency", "[.25, .5)"))
    assert set(others["verdict"]) <= {"no evidence", stats.TOO_FEW}
    callable_ = comps[comps["verdict"] != stats.TOO_FEW]
    assert (callable_["p_adj"] >= callable_["p"]).all() and len(callable_) == 11  # one Holm family per comparison
    # a second comparison is its own family: the first one's p_adj do not change
    two = occlusion_stats.compare_bins(rates, [("a", "b"), ("b", "a")])
    assert np.allclose(two.loc[two["a"] == "a", "p_adj"], comps["p_adj"])
    [sentence] = occlusion_stats.where_sentences(comps.reset_index().assign(a="a", b="b"))
    assert "ID consistency better at visibility [.25, .5)" in sentence and "not detectable in the other 10" in sentence
    table = occlusion_stats.delta_table(comps.reset_index())
    assert list(table.columns) == ["metric", "bin", "a vs b"] and len(table) == 12
    assert table.loc[(table["metric"] == "recall") & (table["bin"] == "[0, .25)"), "a vs b"].iloc[0].endswith("(9)")


def test_no_difference_is_called_at_most_five_percent_of_the_time():
    # family-wise: a trial is false when any bin of the comparison is called; the sign-flip tests are exact and
    # Holm holds under any dependence
    rng = np.random.default_rng(1)
    spec = {"consistency": {}, "recall": 0.6, "relink": 0.7}
    trials, false = 200, 0
    for _ in range(trials):
        per = _counts(rng, {"a": spec, "b": spec})
        comps = occlusion_stats.compare_bins(occlusion_stats.sequence_rates(per), [("a", "b")], intervals=False)
        false += comps["verdict"].isin(["better", "worse"]).any()
    upper = proportion_confint(false, trials, method="beta")[1]
    assert false / trials <= 0.05 and upper <= 0.10, (false, upper)


def test_method_level_bins_keep_seeds_apart_and_need_two_seeds():
    rng = np.random.default_rng(5)
    better = {"consistency": {"[.25, .5)": 0.95}, "recall": 0.6, "relink": 0.7}
    same = {"consistency": {}, "recall": 0.6, "relink": 0.7}
    per = _counts(rng, {"ref/s0": same, "a/s0": better, "a/s1": better, "a/s2": better, "b/s0": same})
    runs = {"ref/s0": ("ref", 0), "a/s0": ("a", 0), "a/s1": ("a", 1), "a/s2": ("a", 2), "b/s0": ("b", 0)}
    wide = occlusion_stats.seed_rates(per, runs)
    assert set(wide["seed"]) == {0, 1, 2} and "ID consistency [.25, .5)" in wide.columns
    # vs an untrained reference: the trained side's 3 seeds are the seed term
    vs_ref = occlusion_stats.compare_bins_method(wide, [("a", "ref")], {"ref"}).set_index(["metric", "bin"])
    hit = vs_ref.loc[("ID consistency", "[.25, .5)")]
    assert hit["verdict"] == "better" and hit["n"] == 10 and hit["lo"] > 0
    assert vs_ref.loc[("recall", "[0, .25)"), "n"] == 9
    assert vs_ref.loc[("re-link rate", ">30"), "verdict"] == stats.TOO_FEW
    # a trained entry with one seed has no method-level answer
    one = occlusion_stats.compare_bins_method(wide, [("b", "ref")], {"ref"})
    assert set(one["verdict"]) == {stats.ONE_SEED}


def test_a_bin_empty_for_one_entry_everywhere_is_too_few_not_an_error():
    rng = np.random.default_rng(6)
    spec = {"consistency": {}, "recall": 0.6, "relink": 0.7}
    per = _counts(rng, {"a/s0": spec, "a/s1": spec, "b/s0": spec, "b/s1": spec}, seqs=7)
    per.loc[(per["tracker"].str.startswith("a")) & (per["bin"] == "16-30"), "gaps"] = 0  # a never has such a gap
    runs = {k: (k[0], int(k[-1])) for k in ("a/s0", "a/s1", "b/s0", "b/s1")}
    out = occlusion_stats.compare_bins_method(occlusion_stats.seed_rates(per, runs), [("a", "b")], set())
    row = out[out["bin"] == "16-30"].iloc[0]
    assert row["n"] == 0 and row["verdict"] == stats.TOO_FEW
    assert (out.loc[out["bin"] == "1-5", "n"] == 7).all()
