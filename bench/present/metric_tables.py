"""Metric tables as people read them: rates in percent, counts as integers (as `bench.core.metric_catalog` says).
Apart from the report (plots, statistics) so that `bench eval` and `bench run --no-report` print their tables without
loading matplotlib or scipy."""

from __future__ import annotations

import pandas as pd

from bench.core.metric_catalog import CATALOG

MAIN = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDs", "FP", "FN", "FPS"]  # the columns of a run's summary


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """Rates in percent and other values rounded to the catalog's decimals, counts as integers (numbers, for the
    CLI); columns the catalog does not know are left as they are."""
    out = df.copy()
    for c in out.columns:
        m = CATALOG.get(c)
        if m is None:
            continue
        if m.kind == "count":
            out[c] = out[c].round().astype("Int64")
        else:
            out[c] = (out[c] * m.scale).round(m.digits)
    return out


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """COMBINED row per tracker of a run's metrics table, MAIN columns, for display."""
    combined = metrics[metrics["seq"] == "COMBINED"].set_index("tracker")
    return display_table(combined[[c for c in MAIN if c in combined]])


def per_sequence_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per (sequence, tracker) rows of a run's metrics table, MAIN columns, for display."""
    per_seq = metrics[metrics["seq"] != "COMBINED"].set_index(["seq", "tracker"]).sort_index()
    return display_table(per_seq[[c for c in MAIN if c in per_seq]])
