"""The metric vocabulary, in one place: each metric bench stores, with its kind, direction, whether it is a headline
metric, and how it is shown. Statistics (`bench.analysis.stats`), tables (`bench.present.metric_tables`), LaTeX
(`bench.present.latex`), plots, the config's primary-metric choices and TrackEval's row types all read it here.

kind: "rate" — stored as a fraction, shown in percent (points in a Δ); "count" — an integer; "value" — anything
else (frames per second, seconds). direction: "higher" or "lower" is better, None where neither is (e.g. MT/PT/ML
counts of gt tracks, sizes of the data).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str  # column in metrics.csv / ablation.csv
    kind: str  # "rate" | "count" | "value"
    direction: str | None  # "higher" | "lower" | None
    headline: int = 0  # > 0: compared in every Δ table (in this order) and a choice of the primary metric
    display: str = ""  # header in reports (default: the name)
    digits: int = 1  # decimals shown (rates in %)

    @property
    def header(self) -> str:
        return self.display or self.name

    @property
    def scale(self) -> float:
        """Factor from stored to shown units (rates are stored as fractions, shown in %)."""
        return 100.0 if self.kind == "rate" else 1.0


def _rates(names: str, direction: str | None = "higher") -> list[Metric]:
    return [Metric(n, "rate", direction) for n in names.split()]


def _counts(names: str, direction: str | None) -> list[Metric]:
    return [Metric(n, "count", direction, digits=0) for n in names.split()]


CATALOG: dict[str, Metric] = {m.name: m for m in [
    # TrackEval's HOTA family (averaged over alphas), CLEAR and Identity rates, in metrics.csv column order
    Metric("HOTA", "rate", "higher", headline=1),
    *_rates("DetA"),
    Metric("AssA", "rate", "higher", headline=2),
    *_rates("LocA DetRe DetPr AssRe AssPr"),
    Metric("MOTA", "rate", "higher", headline=4),
    *_rates("MOTP MODA Rcll Prcn"),
    Metric("IDF1", "rate", "higher", headline=3),
    *_rates("IDP IDR"),
    # counts (TrackEval's names, except Tracker_IDs for its Count metric's IDs)
    Metric("IDs", "count", "lower", headline=5, digits=0),
    *_counts("Frag", "lower"),
    *_counts("FP FN", "lower"),
    *_counts("TP", "higher"),
    *_counts("MT", "higher"),
    *_counts("PT", None),
    *_counts("ML", "lower"),
    *_counts("IDTP", "higher"),
    *_counts("IDFP IDFN", "lower"),
    *_counts("GT_IDs GT_Dets Dets Tracker_IDs Frames", None),
    # timing and the Re-ID model's retrieval (ablation.csv)
    Metric("FPS", "value", "higher"),
    Metric("mAP", "rate", "higher"),
    Metric("rank1", "rate", "higher", display="rank-1"),
    Metric("train_seconds", "value", "lower", display="train s", digits=0),
]}

HEADLINE = [m.name for m in sorted(CATALOG.values(), key=lambda m: m.headline) if m.headline]  # HOTA AssA IDF1 MOTA IDs
TRACKEVAL = [n for n in CATALOG if n not in ("FPS", "mAP", "rank1", "train_seconds")]  # metrics.csv's TrackEval part


def names(kind: str | None = None, direction: str | None = None) -> list[str]:
    """Metric names of a kind and/or direction, in catalog order."""
    return [m.name for m in CATALOG.values()
            if (kind is None or m.kind == kind) and (direction is None or m.direction == direction)]


def headers(direction: str) -> set[str]:
    """Display headers of the metrics with this direction (LaTeX arrows, best-in-bold)."""
    return {m.header for m in CATALOG.values() if m.direction == direction}


def is_rate(name: str) -> bool:
    return name in CATALOG and CATALOG[name].kind == "rate"


def lower_is_better(name: str) -> bool:
    return name in CATALOG and CATALOG[name].direction == "lower"


def digits(name: str) -> int:
    """Decimals a table shows for this metric (1 for anything not in the catalog)."""
    return CATALOG[name].digits if name in CATALOG else 1
