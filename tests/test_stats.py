"""Verdicts: the exact sign-flip test against scipy, its interval, "too few to tell", Holm, the MDE, pairing."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from bench.core.config import PRIMARY_METRICS
from bench.analysis.stats import (
    HEADLINE,
    ONE_SEED,
    TOO_FEW,
    can_call,
    compare,
    comparisons_frame,
    decide,
    delta_table,
    holm,
    holm_adjust,
    minimum_detectable_effect,
    paired_differences,
    run_comparisons,
    shift_interval,
    sign_flip_p,
    smallest_p,
)

SEQS = [f"S{i}" for i in range(8)]


def _values(entries: dict[str, dict[int, list[float]]], seqs: list[str] = SEQS) -> pd.DataFrame:
    """Long frame: entry -> seed -> per-sequence value used for every headline metric."""
    rows = []
    for entry, by_seed in entries.items():
        for seed, vals in by_seed.items():
            for seq, v in zip(seqs, vals):
                rows.append({"entry": entry, "seed": seed, "seq": seq, **{m: v for m in HEADLINE}})
    return pd.DataFrame(rows)


def test_primary_choices_are_the_headline_metrics():
    assert tuple(HEADLINE) == PRIMARY_METRICS


@pytest.mark.parametrize("n", [2, 3, 6, 9, 12])
def test_sign_flip_p_equals_scipys_exact_permutation_test(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        x = rng.normal(0.4, 1.0, n)
        ref = sps.permutation_test((x,), np.mean, permutation_type="samples", n_resamples=np.inf,
                                   alternative="two-sided").pvalue
        assert sign_flip_p(x) == pytest.approx(ref, rel=1e-12)


def test_batched_p_values_equal_one_at_a_time_and_ties_count():
    x = np.random.default_rng(0).normal(size=(7, 10))
    assert np.array_equal(sign_flip_p(x), [sign_flip_p(row) for row in x])
    assert sign_flip_p(np.ones(6)) == 2 / 64  # only "all +" and "all −" reach the observed |mean|
    assert sign_flip_p(np.zeros(6)) == 1.0


def test_many_sequences_use_seeded_random_patterns_that_stay_valid():
    x = np.random.default_rng(1).normal(0.3, 1.0, 20)
    p = sign_flip_p(x)
    assert p == sign_flip_p(x)  # seeded
    ref = sps.permutation_test((x,), np.mean, permutation_type="samples", n_resamples=200_000, random_state=3,
                               alternative="two-sided").pvalue
    assert p == pytest.approx(ref, abs=0.01)
    assert sign_flip_p(np.ones(20)) == pytest.approx(1 / 65_537, rel=0.2)  # never 0: the observed one counts


def test_too_few_to_tell_below_six_sequences():
    assert [can_call(n) for n in range(1, 8)] == [False] * 5 + [True] * 2
    assert smallest_p(3) == 0.25 and smallest_p(5) == 0.0625 and smallest_p(6) == 0.03125
    assert decide(5.0, 0.25, 3) == TOO_FEW
    assert shift_interval(np.array([5.0, 5.0, 5.0])) == (-math.inf, math.inf)
    assert minimum_detectable_effect(np.array([5.0, 4.0, 6.0])) == math.inf


def test_interval_is_the_tests_inversion_and_agrees_with_the_verdict():
    # Student (1908): extra sleep (h) of drug 2 minus drug 1 in 10 patients, mean 1.58 h; t interval [0.70, 2.46]
    d = np.array([1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4])
    lo, hi = shift_interval(d)
    assert 0.6 < lo < 1.0 and 2.2 < hi < 2.7
    assert sign_flip_p(d - (lo - 1e-6)) <= 0.05 < sign_flip_p(d - (lo + 1e-6))  # lo is where the test flips
    assert sign_flip_p(d - (hi + 1e-6)) <= 0.05 < sign_flip_p(d - (hi - 1e-6))
    rng = np.random.default_rng(5)
    for _ in range(20):
        x = rng.normal(rng.normal(), 1.0, 8)
        lo, hi = shift_interval(x)
        assert (sign_flip_p(x) <= 0.05) == (not lo <= 0 <= hi)


def test_mde_is_statsmodels_t_power_times_the_spread():
    from statsmodels.stats.power import TTestPower

    x = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 2.5, 0.0, 1.0])
    d = TTestPower().solve_power(effect_size=None, nobs=8, alpha=0.05, power=0.8)
    assert minimum_detectable_effect(x) == pytest.approx(d * np.std(x, ddof=1))
    assert minimum_detectable_effect(np.full(8, 2.0)) == 0.0


def test_identical_entries_give_zero_and_no_evidence():
    base = {0: list(np.linspace(0.4, 0.6, 8)), 1: list(np.linspace(0.45, 0.65, 8))}
    comps = compare(_values({"a": base, "b": base}), "a", "b")
    assert [c.metric for c in comps] == HEADLINE and [c.primary for c in comps] == [True] + [False] * 4
    for c in comps:
        assert c.delta == 0 and c.lo <= 0 <= c.hi and c.verdict == "no evidence"
        assert (c.n_seqs, c.n_seeds) == (8, 2)


def test_constant_shift_is_better_and_lower_is_better_for_ids():
    b = {0: [50.0 + i for i in range(8)], 1: [52.0 - i for i in range(8)]}
    a = {s: [v + 5 for v in vals] for s, vals in b.items()}
    comps = {c.metric: c for c in compare(_values({"a": a, "b": b}), "a", "b", metrics=["HOTA", "IDs"])}
    hota, ids = comps["HOTA"], comps["IDs"]
    assert hota.delta == pytest.approx(500.0) and hota.lo == pytest.approx(500.0)  # rates in points (x100)
    assert hota.verdict == "better" and hota.p == 2 / 256
    assert ids.delta == pytest.approx(5.0) and ids.verdict == "worse"  # 5 more ID switches
    ids_down = compare(_values({"a": b, "b": a}), "a", "b", primary="IDs", metrics=["IDs"])[0]
    assert ids_down.delta == pytest.approx(-5.0) and ids_down.verdict == "better" and ids_down.primary


def test_holm_adjusts_the_secondaries_over_the_whole_table():
    rng = np.random.default_rng(2)
    vals = {e: {0: list(rng.normal(0.5 + 0.01 * k, 0.02, 8))} for k, e in enumerate(["x", "y", "z"])}
    both = run_comparisons(_values(vals), ["x", "y", "z"], holm_primaries=False)
    assert set(both["level"]) == {"method", "model"}
    comps = both[both["level"] == "model"]
    sec = comps[~comps["primary"]]
    assert len(sec) == 3 * 4  # 3 pairs x 4 secondary metrics: one family
    assert np.allclose(sec["p_adj"], multipletests(sec["p"], method="holm")[1])
    prim = comps[comps["primary"]]
    assert (prim["p_adj"] == prim["p"]).all()  # a single planned comparison: not adjusted
    for r in comps.itertuples():
        assert r.verdict == decide(r.delta, r.p_adj, r.n_seqs, r.metric == "IDs")
    # a secondary that is significant alone but not after Holm loses its verdict
    frame = comparisons_frame(compare(_values(vals), "z", "x"))
    frame.loc[1:, "p"] = [0.04, 0.5, 0.5, 0.5]
    adjusted = holm(frame)
    assert adjusted.loc[1, "p_adj"] == pytest.approx(0.16) and adjusted.loc[1, "verdict"] == "no evidence"


def test_pairing_by_seed_and_seed_independent_reference():
    seqs = SEQS[:4]
    values = _values({"v": {0: [1, 2, 3, 4], 1: [2, 3, 4, 5]}, "w": {1: [0, 0, 0, 0], 0: [1, 1, 1, 1]},
                      "ref": {0: [1, 1, 1, 1]}}, seqs)
    d = paired_differences(values, "v", "w", "HOTA")
    assert d.tolist() == [[0, 2], [1, 3], [2, 4], [3, 5]]  # seed 0 with seed 0, seed 1 with seed 1
    d = paired_differences(values, "v", "ref", "HOTA")
    assert d.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]  # the one ByteTrack run against every seed


def test_sequences_are_the_units_seeds_are_averaged_within():
    # seeds 0 and 2 on each of 8 sequences: every sequence's mean is 1, so the test sees no spread at all
    values = _values({"a": {0: [2.0] * 8, 1: [0.0] * 8}, "b": {0: [0.0] * 8, 1: [0.0] * 8}})
    c = compare(values, "a", "b", metrics=["MOTA"], primary="MOTA")[0]
    assert c.n_seqs == 8 and c.p == 2 / 256 and c.delta == pytest.approx(100.0)


def test_delta_table_states_n_mde_and_verdicts():
    b = {0: [50.0 + i for i in range(8)]}
    a = {0: [v + 5 for v in b[0]]}
    comps = holm(comparisons_frame(compare(_values({"a": a, "b": b}), "a", "b", metrics=["HOTA", "IDs"])))
    row = delta_table(comps).iloc[0]
    assert row["comparison"] == "a vs b" and row["n"] == "8 × 1"
    assert row["ΔHOTA"] == "+500.0 [+500.0, +500.0]" and row["ΔIDs"] == "+5.0 [+5.0, +5.0]"
    assert row["verdict"] == "better" and row["secondary (Holm)"] == "IDs worse" and row["MDE HOTA"] == "0.0"
    few = holm(comparisons_frame(compare(_values({"a": a, "b": b}, SEQS), "a", "b", metrics=["HOTA"])))
    few = few.assign(n_seqs=3, lo=-math.inf, hi=math.inf, mde=math.inf, verdict=TOO_FEW)
    row = delta_table(few).iloc[0]
    assert row["ΔHOTA"] == "+500.0 [n/a]" and row["verdict"] == TOO_FEW and row["MDE HOTA"] == "n/a"


def test_method_level_one_seed_untrained_pairs_and_trained_single_runs():
    rng = np.random.default_rng(4)
    one = _values({"a": {0: list(rng.normal(0.6, 0.02, 8))}, "b": {0: list(rng.normal(0.5, 0.02, 8))}})
    c = compare(one, "a", "b", metrics=["HOTA"], level="method")[0]
    assert c.verdict == ONE_SEED and c.level == "method" and not math.isfinite(c.lo)
    # two untrained entries: the method is the model, so the answer is the model-level one
    same = compare(one, "a", "b", metrics=["HOTA"], level="method", untrained={"a", "b"})[0]
    model = compare(one, "a", "b", metrics=["HOTA"])[0]
    assert same.level == "method" and (same.verdict, same.p, same.lo) == (model.verdict, model.p, model.lo)
    # a trained reference run once: one model of it, so nothing about its method either
    two = _values({"a": {0: list(rng.normal(0.6, 0.02, 8)), 1: list(rng.normal(0.6, 0.02, 8))},
                   "ref": {0: list(rng.normal(0.5, 0.02, 8))}})
    assert compare(two, "a", "ref", metrics=["HOTA"], level="method")[0].verdict == ONE_SEED
    called = compare(two, "a", "ref", metrics=["HOTA"], level="method", untrained={"ref"})[0]
    assert called.verdict == "better" and called.n_seeds == 2


def test_a_seed_effect_shared_by_all_sequences_widens_only_the_method_interval():
    # seed 1's model is 3 points better on every sequence: the models differ for sure, the method maybe not
    rng = np.random.default_rng(8)
    b = {r: list(rng.normal(0.5, 0.01, 8)) for r in range(3)}
    shift = {0: 0.0, 1: 0.03, 2: 0.0}
    a = {r: [v + shift[r] + rng.normal(0, 0.002) for v in vals] for r, vals in b.items()}
    values = _values({"a": a, "b": b})
    model = compare(values, "a", "b", metrics=["HOTA"])[0]
    method = compare(values, "a", "b", metrics=["HOTA"], level="method")[0]
    assert model.verdict == "better" and method.verdict == "no evidence"
    assert method.hi - method.lo > 5 * (model.hi - model.lo) and method.lo < 0 < method.hi


def test_holm_over_a_tables_primaries_and_switched_off():
    rng = np.random.default_rng(3)
    vals = {e: {0: list(rng.normal(0.5 + 0.004 * k, 0.01, 8))} for k, e in enumerate(["x", "y", "z", "w"])}
    on = run_comparisons(_values(vals), ["x", "y", "z", "w"]).query("level == 'model' and primary")
    off = run_comparisons(_values(vals), ["x", "y", "z", "w"], holm_primaries=False).query(
        "level == 'model' and primary")
    assert len(on) == 6 and np.allclose(on["p_adj"], multipletests(on["p"], method="holm")[1])
    assert (off["p_adj"] == off["p"]).all()
    # a primary that is called alone loses its verdict in the family of 6
    alone = off[(off["p"] <= 0.05) & (on["p_adj"].to_numpy() > 0.05)]
    assert len(alone) >= 1 and set(on.loc[alone.index, "verdict"]) == {"no evidence"}


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30))
@settings(max_examples=300, deadline=None)
def test_holm_adjust_equals_statsmodels(ps):
    p = np.asarray(ps)
    with mock.patch("gc.collect"):  # statsmodels' holm branch collects garbage on every call
        expected = multipletests(p, method="holm")[1]
    assert np.allclose(holm_adjust(p), expected, rtol=0, atol=1e-12)
