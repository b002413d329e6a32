"""`bench plan DIR`: the design planner (bench/analysis/plan.py) on a stored run or ablation folder as the pilot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.analysis import plan, stats
from bench.core.errors import BenchError


def pilots(folder: Path, primary: str = "HOTA") -> list[plan.Pilot]:
    """The primary metric's spreads of every comparison the folder's report makes: an ablation's variants vs its
    baseline and vs its reference, or a run's tracker pairs."""
    if (folder / "ablation.csv").is_file():
        from bench.commands.ablate import AblationRecord

        record = AblationRecord.load(folder)
        values = record.values()
        if values is None:
            raise BenchError("the ablation's per-seed run folders are not all here", folder,
                             hint="the planner needs each <variant>-s<seed>/metrics.csv")
        pairs = [(v, record.baseline) for v in record.variants if v != record.baseline]
        pairs += [(v, record.reference) for v in record.variants]
    elif (folder / "metrics.csv").is_file():
        metrics = pd.read_csv(folder / "metrics.csv")
        values = stats.values_from_metrics(metrics)
        trackers = list(dict.fromkeys(values["entry"]))
        pairs = [(a, b) for i, b in enumerate(trackers) for a in trackers[i + 1 :]]
    else:
        raise BenchError("not a run or ablation folder", folder, hint="pass a folder written by bench run/ablate")
    return [plan.pilot(values, a, b, primary) for a, b in pairs]


def plan_folder(folder: Path, primary: str = "HOTA", delta: float = 1.0, target: float = stats.POWER,
                design: tuple[int, int] | None = None) -> tuple[pd.DataFrame, str]:
    """The planner's table and the sentence that reads it."""
    ps = pilots(folder, primary)
    table = plan.plan_table(ps, delta, target, design)
    shown = f"{design[0]} sequences × {design[1]} seeds" if design else "the pilot's design"
    text = plan.PLAN_TEXT.format(primary=primary, power=target, design=shown, delta=delta, max_seqs=plan.MAX_SEQS)
    return table, text
