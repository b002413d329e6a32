"""Paired bootstrap: identical entries, a constant shift, hand-checked small cases, a textbook data set, pairing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bench.stats import (
    HEADLINE,
    RESAMPLES,
    bootstrap_mean,
    compare,
    comparisons_frame,
    delta_table,
    paired_differences,
    verdict,
)

SEQS = ["S1", "S2", "S3", "S4"]


def _values(entries: dict[str, dict[int, list[float]]]) -> pd.DataFrame:
    """Long frame: entry -> seed -> per-sequence value used for every headline metric (IDs x 100 as a count)."""
    rows = []
    for entry, by_seed in entries.items():
        for seed, vals in by_seed.items():
            for seq, v in zip(SEQS, vals):
                rows.append({"entry": entry, "seed": seed, "seq": seq, **{m: v for m in HEADLINE}})
    return pd.DataFrame(rows)


def test_identical_entries_give_zero_and_no_evidence():
    base = {0: [0.50, 0.61, 0.42, 0.55], 1: [0.52, 0.60, 0.47, 0.51]}
    comps = compare(_values({"a": base, "b": base}), "a", "b")
    assert [c.metric for c in comps] == HEADLINE
    for c in comps:
        assert c.delta == 0 and c.lo <= 0 <= c.hi and c.verdict == "no evidence"
        assert (c.n_seqs, c.n_seeds) == (4, 2)


def test_constant_shift_is_better_and_lower_is_better_for_ids():
    b = {0: [50.0, 61.0, 42.0, 55.0], 1: [52.0, 60.0, 47.0, 51.0]}
    a = {s: [v + 5 for v in vals] for s, vals in b.items()}
    comps = {c.metric: c for c in compare(_values({"a": a, "b": b}), "a", "b", metrics=["HOTA", "IDs"])}
    hota, ids = comps["HOTA"], comps["IDs"]
    assert hota.delta == pytest.approx(500.0)  # rates are shown in points (x100)
    assert hota.lo > 0 and hota.verdict == "better"
    assert ids.delta == pytest.approx(5.0) and ids.lo > 0 and ids.verdict == "worse"  # 5 more ID switches
    ids_down = compare(_values({"a": b, "b": a}), "a", "b", metrics=["IDs"])[0]
    assert ids_down.delta == pytest.approx(-5.0) and ids_down.hi < 0 and ids_down.verdict == "better"


def test_two_sequence_case_enumerated_by_hand():
    # Differences [0, 2]: resampled means are 0, 1, 1, 2 with probability 1/4, 1/2, 1/4, so the 2.5% and 97.5%
    # percentiles are 0 and 2: the interval touches 0 -> no evidence. Shifted to [1, 3]: interval [1, 3] -> better.
    delta, lo, hi = bootstrap_mean(np.array([0.0, 2.0]))
    assert (delta, lo, hi) == (1.0, 0.0, 2.0)
    assert verdict(lo, hi) == "no evidence"
    delta, lo, hi = bootstrap_mean(np.array([1.0, 3.0]))
    assert (delta, lo, hi) == (2.0, 1.0, 3.0) and verdict(lo, hi) == "better"


def test_student_sleep_data_textbook_case():
    # Student (1908) / Cushny & Peebles: extra sleep (h) of drug 2 minus drug 1 in 10 patients; mean 1.58 h.
    # Hand check: plug-in sd 1.1668, so the bootstrap standard error of the mean is 1.1668 / sqrt(10) = 0.369 and a
    # normal 95% interval is 1.58 +- 1.96 * 0.369 = [0.86, 2.30]; the right skew (4.6 h) lifts both percentiles
    # a little. The paired t interval is [0.70, 2.46].
    d = np.array([1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4])
    delta, lo, hi = bootstrap_mean(d, seed=1)
    assert delta == pytest.approx(1.58)
    assert 0.85 <= lo <= 1.0 and 2.25 <= hi <= 2.45
    assert verdict(lo, hi) == "better"
    ref = sps.bootstrap((d,), np.mean, n_resamples=RESAMPLES, method="percentile", random_state=2).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.05) and hi == pytest.approx(ref.high, abs=0.05)


def test_seeded_and_at_least_ten_thousand_resamples():
    assert RESAMPLES >= 10_000
    d = np.random.default_rng(3).normal(size=(5, 3))
    assert bootstrap_mean(d, seed=7) == bootstrap_mean(d, seed=7)
    assert bootstrap_mean(d, seed=7) != bootstrap_mean(d, seed=8)


def test_hierarchical_resampling_keeps_seed_noise():
    # Every sequence has seeds giving 0 and 2: resampling sequences alone would see no spread at all (all row
    # means are 1); resampling seeds within sequences does.
    d = np.array([[0.0, 2.0]] * 3)
    assert bootstrap_mean(d.mean(axis=1)) == (1.0, 1.0, 1.0)
    delta, lo, hi = bootstrap_mean(d)
    assert delta == 1.0 and lo == pytest.approx(1 / 3) and hi == pytest.approx(5 / 3)  # means of 6 draws of 0 or 2


def test_pairing_by_seed_and_seed_independent_reference():
    values = _values({"v": {0: [1, 2, 3, 4], 1: [2, 3, 4, 5]}, "w": {1: [0, 0, 0, 0], 0: [1, 1, 1, 1]},
                      "ref": {0: [1, 1, 1, 1]}})
    d = paired_differences(values, "v", "w", "HOTA")
    assert d.tolist() == [[0, 2], [1, 3], [2, 4], [3, 5]]  # seed 0 with seed 0, seed 1 with seed 1
    d = paired_differences(values, "v", "ref", "HOTA")
    assert d.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]  # the one ByteTrack run against every seed


def test_delta_table_states_n_and_verdict():
    b = {0: [50.0, 61.0, 42.0, 55.0]}
    a = {0: [v + 5 for v in b[0]]}
    comps = comparisons_frame(compare(_values({"a": a, "b": b}), "a", "b", metrics=["HOTA", "IDs"]))
    row = delta_table(comps).iloc[0]
    assert row["comparison"] == "a vs b" and row["n"] == "4 × 1"
    assert row["ΔHOTA"] == "+500.0 [+500.0, +500.0]" and row["ΔIDs"] == "+5.0 [+5.0, +5.0]"
    assert row["verdict"] == "better HOTA; worse IDs"
