"""Calibration tables. Issue 18: false-verdict rate (true null) and power (Δ = 1.2 sd of a sequence's seed-mean
difference) per design and noise regime, for bench's model-level verdict (exact sign-flip test over sequences) and for
its earlier percentile bootstrap, measured in the same run on the same seeded draws. Issue 26: under seed effects
shared by all sequences of a trained model, the method-level verdict (crossed GPQ), the model-level one and the
weighed Satterthwaite t, each's rate of better/worse calls under a method-level null and at Δ = 2 points.

    .venv/bin/python benchmarks/calibration.py [--trials 6000] [--bootstrap-trials 300] [--shared-trials 4000]
                                               [--only sequences|shared]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bench.analysis.calibration import (
    DESIGNS,
    EFFECT_SD,
    REGIMES,
    SEED_SDS,
    SHARED_DESIGNS,
    SHARED_EFFECT,
    SHARED_REGIMES,
    cell,
    shared_cell,
)


def sequence_table(trials: int, bootstrap_trials: int) -> pd.DataFrame:
    rows = []
    for regime in REGIMES:
        for s, r in DESIGNS:
            row = {"regime": regime, "design": f"{s} × {r}"}
            for method, n in (("bootstrap", bootstrap_trials), ("sign-flip", trials)):
                null = cell(method, regime, s, r, n)
                power = cell(method, regime, s, r, n, effect_sd=EFFECT_SD)
                row[f"{method} false %"] = f"{100 * null.rate:.1f} (≤ {100 * null.upper:.1f})"
                row[f"{method} power %"] = f"{100 * power.rate:.0f}"
            rows.append(row)
            print(row, flush=True)
    return pd.DataFrame(rows)


def shared_table(trials: int) -> pd.DataFrame:
    """Per regime, design and seed sd: each verdict's call rate under the method-level null (≤ its CP upper end)
    and at Δ = SHARED_EFFECT points."""
    rows = []
    for regime in SHARED_REGIMES:
        for s, r in SHARED_DESIGNS:
            for seed_sd in SEED_SDS:
                row = {"regime": regime, "design": f"{s} × {r}", "seed sd": seed_sd}
                for level in ("method", "model", "satterthwaite"):
                    null = shared_cell(level, regime, s, r, seed_sd, trials)
                    row[f"{level} false %"] = f"{100 * null.rate:.1f} (≤ {100 * null.upper:.1f})"
                    if level != "satterthwaite":
                        power = shared_cell(level, regime, s, r, seed_sd, trials, delta=SHARED_EFFECT)
                        row[f"{level} power %"] = f"{100 * power.rate:.0f}"
                rows.append(row)
                print(row, flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=6000, help="trials per cell for the sign-flip test")
    ap.add_argument("--bootstrap-trials", type=int, default=300, help="trials per cell for the earlier bootstrap")
    ap.add_argument("--shared-trials", type=int, default=4000, help="trials per cell of the shared seed effects")
    ap.add_argument("--only", choices=("sequences", "shared"), help="one of the two tables")
    args = ap.parse_args()
    start = time.perf_counter()
    if args.only != "shared":
        table = sequence_table(args.trials, args.bootstrap_trials)
        print()
        print(table.to_markdown(index=False))
        print(f"\nfalse % = better/worse verdicts under no difference (upper end of its 95% Clopper-Pearson "
              f"interval); power at Δ = {EFFECT_SD} sd of a sequence's seed-mean difference")
    if args.only != "sequences":
        table = shared_table(args.shared_trials)
        print()
        print(table.to_markdown(index=False))
        print(f"\nshared seed effects, cell sd 3.5 points: false % = better/worse calls when the method makes no "
              f"difference (for the model-level verdict these are false answers to the method question only); "
              f"power at Δ = {SHARED_EFFECT} points")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
