"""The design planner: at the design it plans, each question's verdict reaches the planned power in a simulation of
the verdict itself; pilot spreads are recovered; `bench plan` reads a stored folder."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.analysis import plan
from bench.analysis.calibration import level_calls
from bench.analysis.method_level import Spread
from tests.test_cli import bench

SPREAD = Spread(seq=2.0, seed=1.0, cell=3.5)


def _draw(sp: Spread, seqs: int, seeds: int, delta: float, trials: int, rng) -> np.ndarray:
    return (delta + rng.normal(0, sp.seq, (trials, seqs, 1)) + rng.normal(0, sp.seed, (trials, 1, seeds))
            + rng.normal(0, sp.cell, (trials, seqs, seeds)))


@pytest.mark.parametrize("level,seeds,delta", [("method", 5, 2.0), ("method", 8, 1.5), ("model", 3, 1.0),
                                               ("model", 1, 2.0)])
def test_planned_design_reaches_the_planned_power_in_simulation(level, seeds, delta):
    seqs = plan.sequences_needed(level, delta, SPREAD, seeds)
    assert seqs is not None and seqs > 6
    assert plan.power(level, delta, SPREAD, seqs, seeds) >= 0.8 > plan.power(level, delta, SPREAD, seqs - 1, seeds)
    # these models' Δ already holds the seeds' effects: simulated without them; the method's with them
    sp = SPREAD if level == "method" else Spread(SPREAD.seq, 0.0, SPREAD.cell)
    d = _draw(sp, seqs, seeds, delta, 1500, np.random.default_rng([seqs, seeds]))
    measured = level_calls(d, level).mean()
    assert abs(measured - 0.8) <= 0.10, (seqs, measured)


def test_a_seed_effect_caps_the_method_and_one_seed_cannot_answer_it():
    big = Spread(seq=1.0, seed=3.0, cell=3.5)
    assert plan.sequences_needed("method", 1.0, big, 3) is None  # 3 seeds: no number of sequences is enough
    assert plan.sequences_needed("method", 1.0, big, 10) is None or plan.sequences_needed("method", 1.0, big, 10) > 6
    assert plan.sequences_needed("method", 1.0, SPREAD, 1) is None
    assert plan.detectable("method", SPREAD, 10, 1) == math.inf and plan.detectable("model", SPREAD, 5, 3) == math.inf
    # more sequences or seeds never make the smallest detectable Δ larger
    grid = [plan.detectable("method", SPREAD, s, r) for s in (10, 20, 40) for r in (3, 5)]
    assert grid[0] > grid[2] > grid[4] and grid[0] > grid[1]


def _long(sp: Spread, seqs: int, seeds: int, rng) -> pd.DataFrame:
    d = _draw(sp, seqs, seeds, 1.0, 1, rng)[0]
    base = rng.normal(60, 5, (seqs, 1))
    rows = [{"entry": e, "seed": r, "seq": f"S{s}", "HOTA": v[s, r] / 100}
            for e, v in (("a", base + d), ("b", base + 0 * d)) for s in range(seqs) for r in range(seeds)]
    return pd.DataFrame(rows)


def test_pilot_recovers_the_spreads():
    p = plan.pilot(_long(SPREAD, 300, 40, np.random.default_rng(1)), "a", "b")
    assert (p.seqs, p.seeds, p.comparison) == (300, 40, "a vs b")
    assert p.spread.seq == pytest.approx(2.0, rel=0.15) and p.spread.cell == pytest.approx(3.5, rel=0.05)
    assert p.spread.seed == pytest.approx(1.0, rel=0.35)
    one = plan.pilot(_long(SPREAD, 10, 1, np.random.default_rng(2)), "a", "b")
    assert math.isnan(one.spread.seed) and one.spread.seq > 0 and one.spread.cell == 0.0
    table = plan.plan_table([one])
    assert table.loc[0, "detects (method)"] == "n/a" and table.loc[0, "σ seed"] == "unknown"


def test_bench_plan_reads_a_run_folder(tmp_path):
    rng = np.random.default_rng(3)
    rows = [{"seq": f"S{i}", "tracker": t, "HOTA": 0.5 + 0.02 * k + rng.normal(0, 0.03)}
            for k, t in enumerate(["bytetrack", "finetrack"]) for i in range(10)]
    pd.DataFrame(rows).to_csv(tmp_path / "metrics.csv", index=False)
    out = bench("plan", str(tmp_path), "--seqs", "7", "--seeds", "5").stdout
    assert "finetrack vs bytetrack" in out and "7 × 5" in out and "10 × 1" in out
    assert "unknown" in out  # one seed: no seed spread for the method
    bad = bench("plan", str(tmp_path), "--delta", "0", check=False)
    assert bad.returncode != 0 and "--delta must be > 0" in bad.stdout + bad.stderr
