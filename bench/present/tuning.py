"""How a tuning study is shown: its description, the parameters table, the optimisation history and importance
plots, `tune.md`, and the Tuning section of a run report (`bench run --tuned N`). It reads a study's record (a
`bench.commands.tune.TuneResult` or its stored dict) and never runs anything. matplotlib loads only when a plot is
drawn, so `bench tune`'s and `--params`' imports stay light."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.core import metric_catalog


def show(v: float | None, metric: str, digits: int = 2) -> str:
    """A value of the objective as reports show it: rates in %, counts as they are; None as '–'."""
    if v is None:
        return "–"
    return f"{100 * v:.{digits}f}" if metric_catalog.is_rate(metric) else f"{v:.0f}"


def verb(metric: str) -> str:
    return "minimising" if metric_catalog.lower_is_better(metric) else "maximising"


def fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def describe(result: Any) -> str:
    """One paragraph on a study (a TuneResult)."""
    default = "not in the study" if result.default_value is None else show(result.default_value, result.metric)
    rate = "" if math.isnan(result.trials_per_min) else f" ({result.trials_per_min:.1f} trials/min)"
    return (f"Optuna TPE, {result.budget} trials{rate}, {verb(result.metric)} {result.metric} on the {result.split} "
            f"split ({', '.join(result.sequences)}; never val or test): best "
            f"{show(result.best_value, result.metric)}, configured "
            f"parameters {default}. Study: `{result.folder / 'study.db'}`.")


def params_table(results: list[Any]) -> pd.DataFrame:
    """tracker, parameter, search space, configured value and tuned value (TuneResults or their dicts)."""
    rows = []
    for r in results:
        r = r if isinstance(r, dict) else r.to_dict()
        for k, v in r["best_params"].items():
            rows.append({"tracker": r["tracker"], "parameter": k, "space": r["space"].get(k, ""),
                         "configured": fmt(r["configured"].get(k, "")), "tuned": fmt(v)})
    return pd.DataFrame(rows)


def plot_history(histories: dict[str, list[float]], path: Path, metric: str) -> Path:
    """Each trial's objective (points) and the best so far (line), per tracker."""
    from bench.present import plots

    plots.sns.set_theme(style="whitegrid")
    fig, ax = plots.plt.subplots(figsize=(7, 4))
    rate = metric_catalog.is_rate(metric)
    for i, (tracker, values) in enumerate(histories.items()):
        color = f"C{i}"
        x = np.arange(len(values))
        v = np.asarray(values, dtype=float) * (100 if rate else 1)
        best = np.minimum.accumulate(v) if metric_catalog.lower_is_better(metric) else np.maximum.accumulate(v)
        ax.scatter(x, v, s=14, color=color, alpha=0.5)
        ax.plot(x, best, color=color, label=tracker, drawstyle="steps-post")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{metric} (%)" if rate else metric)
    ax.set_title(f"Optimisation history ({metric} on the tuning sequences; line: best so far)")
    ax.legend()
    plots.fit_axis(ax)
    return plots.save(fig, path)


def plot_importance(imps: dict[str, dict[str, float]], path: Path) -> Path:
    """PED-ANOVA importance of each parameter, one panel per tracker."""
    from bench.present import plots

    plots.sns.set_theme(style="whitegrid")
    fig, axes = plots.plt.subplots(1, len(imps), figsize=(4.2 * len(imps), 0.5 + 0.45 * max(map(len, imps.values()))),
                                   squeeze=False)
    for ax, (tracker, imp) in zip(axes[0], imps.items()):
        names = sorted(imp, key=imp.get)
        ax.barh(names, [imp[n] for n in names], color="C0")
        ax.set_title(tracker)
        ax.set_xlabel("importance (PED-ANOVA)")
    fig.suptitle("Parameter importance")
    return plots.save(fig, path)


def study_report(result: Any, folder: Path) -> list[Path]:
    """tune.md and its plots in the study's folder; returns their paths."""
    from bench.core.fsutil import atomic_write_text
    from bench.present import plots

    hist = plot_history({result.tracker: result.history}, folder / "history.png", result.metric)
    paths = [hist]
    if result.importance:
        paths.append(plot_importance({result.tracker: result.importance}, folder / "importance.png"))
    md = [f"# bench tune: {result.tracker} on {result.suite}", "", describe(result), ""]
    md += [params_table([result]).to_markdown(index=False), ""]
    md += [f"![history]({hist.name})", ""]
    if result.importance:
        md += ["![importance](importance.png)", ""]
    atomic_write_text(folder / "tune.md", "\n".join(md))
    plots.plt.close("all")
    return paths + [folder / "tune.md"]


def report_section(doc: Any, run_dir: Path, tuning: dict[str, Any], context: str) -> None:
    """The run report's account of the tuning: budget, where, configured vs tuned values, history and importance."""
    recs = list(tuning["trackers"].values())
    seqs = ", ".join(recs[0]["sequences"]) if recs else ""
    doc.text("## Tuning",
             f"Before this run every tracker was tuned with the same budget: {tuning['budget']} Optuna TPE trials "
             f"(seed {tuning['seed']}) {verb(tuning['metric'])} {tuning['metric']} on the {tuning['split']} split "
             f"({seqs}; never "
             "on val or test), starting from its configured parameters; the val results above use the best "
             "trial's parameters. Objective on the tuning sequences, configured → tuned: "
             + "; ".join(f"{r['tracker']} {show(r['default_value'], tuning['metric'], 1)} → "
                         f"{show(r['best_value'], tuning['metric'], 1)}" for r in recs) + "."
             + (" The appearance trackers were tuned on embeddings of the Re-ID model trained on these same "
                "sequences, which is optimistic for them." if tuning["split"] == "train" else ""))
    doc.table(params_table(recs), f"Tuned parameters ({tuning['budget']} trials per tracker; {context}).",
              "tab:tuned")
    hist = plot_history({r["tracker"]: r["history"] for r in recs}, run_dir / "tune_history.png", tuning["metric"])
    doc.figure(hist, f"Optimisation history of each tracker's study ({tuning['metric']} on the tuning sequences).")
    imps = {r["tracker"]: r["importance"] for r in recs if r["importance"]}
    if imps:
        doc.figure(plot_importance(imps, run_dir / "tune_importance.png"),
                   "Parameter importance (PED-ANOVA) of each tracker's study.")
