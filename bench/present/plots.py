"""Plots that show differences: point estimates on axes fitted to the data (never bars from 0), forest plots of
Δ with its confidence interval, and occlusion curves (metric by visibility bin, re-link rate by gap length)."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.core.fsutil import atomic_path  # noqa: E402

PLOTTED = ["HOTA", "AssA", "IDF1", "MOTA"]
VIS_METRICS = {
    "recall": "recall (%)",
    "idsw_per_100": "ID switches per 100 matched",
    "id_consistency": "ID consistency (%)",
}


def save(fig: plt.Figure, path: Path) -> Path:
    for ax in fig.axes:
        if ax.get_legend() is not None:  # outside the data, so it never hides a point
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    with warnings.catch_warnings():  # a name in a script the font lacks (CJK, emoji) is drawn as boxes, not
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # a warning per glyph
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


def _pad(ax: plt.Axes, axis: str = "y", frac: float = 0.08) -> None:
    """Fit the axis to the plotted data with a small margin (matplotlib's autoscale, never forced to 0)."""
    ax.margins(**{axis: frac})


def plot_metrics(metrics: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Suite metrics per tracker (one panel per metric) and HOTA/IDF1 per sequence, on fitted axes."""
    sns.set_theme(style="whitegrid")
    combined = metrics[metrics["seq"] == "COMBINED"]
    cols = [c for c in PLOTTED if c in combined]
    fig, axes = plt.subplots(1, len(cols), figsize=(2.6 * len(cols) + 1.5, 3.4))
    for ax, metric in zip(np.atleast_1d(axes), cols):
        data = combined.assign(value=combined[metric] * 100)
        sns.pointplot(data=data, x="tracker", y="value", hue="tracker", linestyle="none", ax=ax, legend=False)
        ax.set_title(metric)
        ax.set_xlabel("")
        ax.set_ylabel("%")
        ax.tick_params(axis="x", rotation=30)
        _pad(ax)
    fig.suptitle("Suite metrics per tracker (axes fitted to the data)")
    paths = [save(fig, out_dir / "metrics_per_tracker.png")]
    per_seq = metrics[metrics["seq"] != "COMBINED"]
    for metric in ("HOTA", "IDF1"):
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * per_seq["seq"].nunique() + 2), 4))
        data = per_seq.assign(value=per_seq[metric] * 100)
        dodge = 0.3 if data["tracker"].nunique() > 1 else False  # seaborn divides by (hue levels - 1)
        sns.pointplot(data=data, x="seq", y="value", hue="tracker", dodge=dodge, markers="o", ax=ax)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_xlabel("")
        ax.set_title(f"{metric} per sequence")
        ax.tick_params(axis="x", rotation=30)
        _pad(ax)
        paths.append(save(fig, out_dir / f"{metric.lower()}_per_sequence.png"))
    return paths


def plot_ablation(table: pd.DataFrame, order: list[str], name: str, path: Path) -> Path:
    """Mean ± sd over seeds per variant, one panel per metric with its own fitted axis."""
    sns.set_theme(style="whitegrid")
    metrics = ["HOTA", "AssA", "IDF1"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(9, 0.55 * len(order) * len(metrics) + 2), 3.8))
    for ax, metric in zip(axes, metrics):
        data = table.assign(value=table[metric] * 100)
        sns.pointplot(data=data, x="variant", y="value", order=order, errorbar="sd", linestyle="none", ax=ax)
        ax.set_title(metric)
        ax.set_xlabel("")
        ax.set_ylabel("%")
        ax.tick_params(axis="x", rotation=40)
        _pad(ax)
    fig.suptitle(f"Ablation {name} (mean ± sd over seeds)")
    return save(fig, path)


def forest_plot(comps: pd.DataFrame, path: Path, title: str) -> Path:
    """Δ (A − B) with its 95% interval per comparison, one panel per metric, zero line marked (no bar where the
    design is too small for an interval).

    For ablations, `comps` rows vs the baseline and vs ByteTrack are coloured by their reference (b)."""
    sns.set_theme(style="whitegrid")
    metrics = list(dict.fromkeys(comps["metric"]))
    entries = list(dict.fromkeys(comps["a"]))
    refs = list(dict.fromkeys(comps["b"]))
    palette = dict(zip(refs, sns.color_palette(n_colors=len(refs))))
    height = 0.45 * len(entries) * max(1, min(len(refs), 2)) + 1.6
    fig, axes = plt.subplots(1, len(metrics), figsize=(2.7 * len(metrics) + 1.5, height), sharey=True)
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        g = comps[comps["metric"] == metric]
        for k, ref in enumerate(refs):
            r = g[g["b"] == ref]
            y = np.array([entries.index(a) for a in r["a"]]) + (k - (len(refs) - 1) / 2) * 0.25
            finite = np.isfinite(r["lo"]) & np.isfinite(r["hi"])  # too few sequences: the point, no interval
            lo = np.where(finite, r["delta"] - r["lo"], 0.0)
            hi = np.where(finite, r["hi"] - r["delta"], 0.0)
            ax.errorbar(r["delta"], y, xerr=[lo, hi], fmt="o", capsize=3, color=palette[ref], label=f"vs {ref}")
        ax.axvline(0, color="black", lw=1, ls="--")
        ax.set_yticks(range(len(entries)), entries)
        ax.set_ylim(len(entries) - 0.5, -0.5)
        ax.set_title(f"Δ{metric}" + (" (lower better)" if metric == "IDs" else ""))
        _pad(ax, "x")
    np.atleast_1d(axes)[-1].legend()
    fig.suptitle(title)
    return save(fig, path)


def plot_visibility(by_visibility: pd.DataFrame, path: Path) -> Path:
    """Recall, ID switches per 100 matched boxes and ID consistency per visibility bin, one line per tracker."""
    sns.set_theme(style="whitegrid")
    bins = list(dict.fromkeys(by_visibility["bin"]))
    fig, axes = plt.subplots(1, len(VIS_METRICS), figsize=(13, 3.8))
    for ax, (col, label) in zip(axes, VIS_METRICS.items()):
        scale = 1.0 if col == "idsw_per_100" else 100.0
        data = by_visibility.assign(value=by_visibility[col] * scale)
        sns.pointplot(data=data, x="bin", y="value", hue="tracker", order=bins, markers="o", ax=ax,
                      legend=ax is axes[-1])
        ax.set_xlabel("visibility")
        ax.set_ylabel(label)
        _pad(ax)
    fig.suptitle("Metrics by gt visibility bin")
    return save(fig, path)


def plot_relink(relink: pd.DataFrame, path: Path) -> Path:
    """Share of occlusion gaps after which the gt track keeps its tracker id, by gap length, one line per tracker."""
    sns.set_theme(style="whitegrid")
    bins = list(dict.fromkeys(relink["gap_bin"]))
    fig, ax = plt.subplots(figsize=(7, 4))
    data = relink.assign(value=relink["rate"] * 100)
    sns.pointplot(data=data, x="gap_bin", y="value", hue="tracker", order=bins, markers="o", ax=ax)
    ax.set_xlabel("gap length (frames)")
    ax.set_ylabel("re-link rate (%)")
    ax.set_title("Same id after an occlusion gap")
    _pad(ax)
    return save(fig, path)
