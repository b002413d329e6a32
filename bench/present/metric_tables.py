"""Metric tables as people read them: rates in percent, counts as integers. Apart from the report (plots,
statistics) so that `bench eval` prints its table without loading matplotlib or scipy."""

from __future__ import annotations

import pandas as pd

RATES = ["HOTA", "DetA", "AssA", "MOTA", "IDF1"]  # stored as fractions, shown as percentages
COUNTS = ["IDs", "FP", "FN"]


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """Percentages with one decimal for rates, integers for counts, one decimal for FPS (numbers, for the CLI)."""
    out = df.copy()
    for c in RATES:
        if c in out:
            out[c] = (out[c] * 100).round(1)
    for c in COUNTS:
        if c in out:
            out[c] = out[c].round().astype("Int64")
    if "FPS" in out:
        out["FPS"] = out["FPS"].round(1)
    return out
