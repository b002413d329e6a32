"""Calibration table for issue 18: false-verdict rate (true null) and power (Δ = 1.2 sd of a sequence's seed-mean
difference) per design and noise regime, for bench's verdict (exact sign-flip test over sequences) and for its
earlier percentile bootstrap, measured in the same run on the same seeded draws.

    .venv/bin/python benchmarks/calibration.py [--trials 6000] [--bootstrap-trials 300]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bench.analysis.calibration import DESIGNS, EFFECT_SD, REGIMES, cell


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=6000, help="trials per cell for the sign-flip test")
    ap.add_argument("--bootstrap-trials", type=int, default=300, help="trials per cell for the earlier bootstrap")
    args = ap.parse_args()
    start = time.perf_counter()
    rows = []
    for regime in REGIMES:
        for s, r in DESIGNS:
            row = {"regime": regime, "design": f"{s} × {r}"}
            for method, trials in (("bootstrap", args.bootstrap_trials), ("sign-flip", args.trials)):
                null = cell(method, regime, s, r, trials)
                power = cell(method, regime, s, r, trials, effect_sd=EFFECT_SD)
                row[f"{method} false %"] = f"{100 * null.rate:.1f} (≤ {100 * null.upper:.1f})"
                row[f"{method} power %"] = f"{100 * power.rate:.0f}"
            rows.append(row)
            print(row, flush=True)
    print()
    print(pd.DataFrame(rows).to_markdown(index=False))
    print(f"\n{time.perf_counter() - start:.0f} s; false % = better/worse verdicts under no difference (upper end of "
          f"its 95% Clopper-Pearson interval); power at Δ = {EFFECT_SD} sd of a sequence's seed-mean difference")


if __name__ == "__main__":
    main()
