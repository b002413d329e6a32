"""`bench report`: markdown and LaTeX tables plus seaborn plots from a stored run's `metrics.csv`."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.errors import BenchError  # noqa: E402
from bench.fsutil import atomic_path, atomic_write_text  # noqa: E402

MAIN = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDs", "FP", "FN", "FPS"]
RATES = ["HOTA", "DetA", "AssA", "MOTA", "IDF1"]  # stored as fractions, shown as percentages
COUNTS = ["IDs", "FP", "FN"]
PLOTTED = ["HOTA", "AssA", "IDF1", "MOTA"]


def load_metrics(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    metrics_path, manifest_path = run_dir / "metrics.csv", run_dir / "manifest.json"
    for p in (metrics_path, manifest_path):
        if not p.is_file():
            raise BenchError("missing run file", p, hint="pass a folder written by `bench run`")
    return pd.read_csv(metrics_path), json.loads(manifest_path.read_text())


def display_table(df: pd.DataFrame) -> pd.DataFrame:
    """Percentages with one decimal for rates, integers for counts, one decimal for FPS."""
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


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    combined = metrics[metrics["seq"] == "COMBINED"].set_index("tracker")
    return display_table(combined[[c for c in MAIN if c in combined]])


def per_sequence_table(metrics: pd.DataFrame) -> pd.DataFrame:
    per_seq = metrics[metrics["seq"] != "COMBINED"].set_index(["seq", "tracker"]).sort_index()
    return display_table(per_seq[[c for c in MAIN if c in per_seq]])


def to_latex(df: pd.DataFrame, caption: str, label: str) -> str:
    styler = df.style.format(precision=1, na_rep="--")
    return styler.to_latex(hrules=True, caption=caption, label=label, position_float="centering")


def plot_metrics(metrics: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Bar plots of the main metrics per tracker (suite) and HOTA/IDF1 per sequence and tracker."""
    sns.set_theme(style="whitegrid")
    paths = []
    combined = metrics[metrics["seq"] == "COMBINED"]
    long = combined.melt(
        id_vars="tracker", value_vars=[c for c in PLOTTED if c in combined], var_name="metric", value_name="value"
    )
    long["value"] *= 100
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.barplot(data=long, x="metric", y="value", hue="tracker", ax=ax)
    ax.set_ylabel("%")
    ax.set_title("Suite metrics per tracker")
    paths.append(_save(fig, out_dir / "metrics_per_tracker.png"))

    per_seq = metrics[metrics["seq"] != "COMBINED"]
    for metric in ("HOTA", "IDF1"):
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * per_seq["seq"].nunique() + 2), 4))
        data = per_seq.assign(value=per_seq[metric] * 100)
        sns.barplot(data=data, x="seq", y="value", hue="tracker", ax=ax)
        ax.set_ylabel(f"{metric} (%)")
        ax.set_xlabel("")
        ax.set_title(f"{metric} per sequence")
        ax.tick_params(axis="x", rotation=30)
        paths.append(_save(fig, out_dir / f"{metric.lower()}_per_sequence.png"))
    return paths


def _save(fig: plt.Figure, path: Path) -> Path:
    for ax in fig.axes:
        if ax.get_legend() is not None:  # outside the bars, so it never hides one
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


PUBLISHED = Path(__file__).resolve().parent / "data" / "published.csv"


def published_table() -> pd.DataFrame:
    """The papers' published test-set numbers (data in bench/data/published.csv), for context only."""
    return pd.read_csv(PUBLISHED).set_index(["benchmark", "tracker"])


def _published_section() -> tuple[list[str], str]:
    table = published_table()
    shown = table.drop(columns="source").reset_index()
    shown["IDs"] = shown["IDs"].map(lambda v: "–" if pd.isna(v) else str(int(v)))
    note = (
        "Published test-set results as reported by the papers (not measured by bench; other detector, data and "
        "training — for context only, not comparable to the synth numbers above)."
    )
    md = [
        "## Published results (papers, not measured here)",
        "",
        note,
        "",
        shown.to_markdown(index=False, floatfmt=".1f"),
        "",
        "Sources: " + "; ".join(f"{b} {t}: {src}" for (b, t), src in table["source"].items()),
        "",
    ]
    tex = to_latex(
        shown.set_index(["benchmark", "tracker"]),
        "Published test-set results (from the papers; not measured by bench).",
        "tab:published",
    )
    return md, tex


def write_ablation_report(out_dir: Path, published: bool = True) -> list[Path]:
    """ablation.md / ablation.tex (mean ± std over seeds, Δ vs the full model) and a HOTA/IDF1 plot per variant."""
    from bench.ablate import summarise

    info = json.loads((out_dir / "ablation.json").read_text())
    table = pd.read_csv(out_dir / "ablation.csv")
    order = ["bytetrack", *info["variants"]]
    summary = summarise(table, info["baseline"], order)
    head = (
        f"Ablation `{info['name']}` on suite `{info['suite']}`: {info['description']}. FineTrack variants, "
        f"{info['seeds']} seed(s) each, mean ± std over seeds; Δ = difference of the means against "
        f"`{info['baseline']}`; ByteTrack (no Re-ID, seed-independent) for reference. HOTA, AssA, IDF1, MOTA, "
        f"mAP and rank-1 in %; mAP/rank-1 on the val split's gt crops."
    )
    overrides = "\n".join(f"- `{v}`: {info['overrides'][v] or 'default config'}" for v in info["variants"])
    pub_md, pub_tex = _published_section() if published else ([], "")
    md = [
        f"# Ablation: {info['name']}",
        "",
        head,
        "",
        summary.to_markdown(disable_numparse=True),
        "",
        "Variants:",
        "",
        overrides,
        "",
        *pub_md,
    ]
    sns.set_theme(style="whitegrid")
    long = table.melt(id_vars=["variant", "seed"], value_vars=["HOTA", "AssA", "IDF1"], var_name="metric")
    long["value"] *= 100
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(order) + 2), 4))
    sns.barplot(data=long, x="variant", y="value", hue="metric", order=order, errorbar="sd", ax=ax)
    ax.set_ylabel("%")
    ax.set_xlabel("")
    ax.set_title(f"Ablation {info['name']} (mean ± sd over seeds)")
    plot = _save(fig, out_dir / "ablation.png")
    md += [f"![ablation]({plot.name})", ""]
    md_path, tex_path = out_dir / "ablation.md", out_dir / "ablation.tex"
    atomic_write_text(md_path, "\n".join(md))
    atomic_write_text(
        tex_path,
        to_latex(
            summary,
            f"Ablation {info['name']} on {info['suite']} (val), mean $\\pm$ std over {info['seeds']} seed(s).",
            f"tab:ablation-{info['name']}",
        )
        + "\n"
        + pub_tex
        + "\n",
    )
    return [md_path, tex_path, plot]


def write_report(run_dir: Path, published: bool = True) -> list[Path]:
    """Write report.md, report.tex and the PNG plots into the run folder; returns the written paths."""
    metrics, manifest = load_metrics(run_dir)
    suite = manifest["suite"]
    summary, per_seq = summary_table(metrics), per_sequence_table(metrics)
    plots = plot_metrics(metrics, run_dir)
    head = (
        f"Run `{manifest['run_id']}` on suite `{suite['name']}` ({len(suite['sequences'])} val sequences, "
        f"{suite['benchmark']}-style evaluation with TrackEval, cross-checked by py-motmetrics); "
        f"detections: `{manifest['detections']['source']}`; commit `{manifest['git_commit'][:10]}`; "
        f"device `{manifest['device']}`. Rates in %, FPS = tracker-only frames per second."
    )
    for tracker, reid in (manifest.get("reid") or {}).items():
        m, mc = reid.get("metrics", {}), reid["model_config"]
        head += (
            f"\n\n{tracker} Re-ID model `{mc['name']}` ({mc['layout']} ×{mc['width']}, input "
            f"{mc['input_size']}{', ' + str(mc['extra']) if mc.get('extra') else ''}), trained on "
            f"{reid.get('train_crops', '?')} crops in {reid.get('train_seconds', float('nan')):.0f} s: val mAP "
            f"{100 * m.get('mAP', float('nan')):.1f}, rank-1 {100 * m.get('rank1', float('nan')):.1f} "
            f"(checkpoint `{Path(reid['path']).name}`)."
        )
    md = [
        f"# bench report: {suite['name']}",
        "",
        head,
        "",
        "## Summary",
        "",
        summary.to_markdown(floatfmt=".1f"),
        "",
        "## Per sequence",
        "",
        per_seq.reset_index().to_markdown(index=False, floatfmt=".1f"),
        "",
    ]
    md += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    pub_md, pub_tex = _published_section() if published else ([], "")
    md += pub_md
    tex = [
        f"% bench report: run {manifest['run_id']}, suite {suite['name']}",
        to_latex(summary, f"Tracking results on {suite['name']} (val).", "tab:summary"),
        to_latex(per_seq, f"Per-sequence results on {suite['name']} (val).", "tab:per-seq"),
        pub_tex,
    ]
    md_path, tex_path = run_dir / "report.md", run_dir / "report.tex"
    atomic_write_text(md_path, "\n".join(md))
    atomic_write_text(tex_path, "\n\n".join(tex) + "\n")
    return [md_path, tex_path, *plots]
