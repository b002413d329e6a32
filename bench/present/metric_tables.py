"""Metric tables as people read them: rates in percent, counts as integers (as `bench.core.metric_catalog` says).
Apart from the report (plots, statistics) so that `bench eval` prints its table without loading matplotlib or
scipy."""

from __future__ import annotations

import pandas as pd

from bench.core.metric_catalog import CATALOG


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
