"""`bench report`: report.md / report.tex (+ optional PDF) with tables, calibrated verdicts, occlusion analysis
and plots, rebuilt from a stored run or ablation folder (metrics.csv, per-sequence result files and the suite's gt)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from bench.present import latex, plots

from bench.analysis import stats
from bench.core.errors import BenchError
from bench.core.fsutil import atomic_path, atomic_write_text
from bench.present.metric_tables import COUNTS, display_table
from trackers.reid.configs import ModelConfig

MAIN = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDs", "FP", "FN", "FPS"]
PUBLISHED = Path(__file__).resolve().parent / "published.csv"


def load_metrics(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    metrics_path, manifest_path = run_dir / "metrics.csv", run_dir / "manifest.json"
    for p in (metrics_path, manifest_path):
        if not p.is_file():
            raise BenchError("missing run file", p, hint="pass a folder written by `bench run`")
    return pd.read_csv(metrics_path), json.loads(manifest_path.read_text())


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    combined = metrics[metrics["seq"] == "COMBINED"].set_index("tracker")
    return display_table(combined[[c for c in MAIN if c in combined]])


def per_sequence_table(metrics: pd.DataFrame) -> pd.DataFrame:
    per_seq = metrics[metrics["seq"] != "COMBINED"].set_index(["seq", "tracker"]).sort_index()
    return display_table(per_seq[[c for c in MAIN if c in per_seq]])


def as_text(df: pd.DataFrame, digits: dict[str, int]) -> pd.DataFrame:
    """Display strings with a fixed number of decimals per column (missing values as '–')."""
    out = df.copy().astype(object)
    for c, d in digits.items():
        if c in out:
            out[c] = [("–" if pd.isna(v) else f"{float(v):.{d}f}") for v in df[c]]
    return out


def _digits(cols) -> dict[str, int]:
    return {c: (0 if c in COUNTS else 1) for c in cols}


class Doc:
    """Collects one report's markdown lines, LaTeX tables and figures (for the standalone PDF)."""

    def __init__(self) -> None:
        self.md: list[str] = []
        self.tex: list[str] = []
        self.figures: list[tuple[Path, str]] = []

    def text(self, *paragraphs: str) -> None:
        for p in paragraphs:
            self.md += [p, ""]

    def table(self, df: pd.DataFrame, caption: str, label: str, bold: pd.DataFrame | None = None) -> None:
        """Markdown (Unicode kept) and LaTeX (ASCII) of the same display frame; headers carry the direction."""
        df = df.reset_index(drop=True)
        heads = {c: latex.with_direction(c) for c in df.columns}
        align = ["right" if latex.numeric(df[c].astype(str)) else "left" for c in df.columns]
        self.md += [df.rename(columns=heads).to_markdown(index=False, disable_numparse=True, colalign=align), ""]
        b = bold.reset_index(drop=True).rename(columns=heads) if bold is not None else None
        self.tex.append(latex.table(df.rename(columns=heads), caption, label, bold=b))

    def figure(self, path: Path, caption: str) -> None:
        self.md += [f"![{path.stem}]({path.name})", ""]
        self.figures.append((path, caption))


def _significance(doc: Doc, comps: pd.DataFrame, out_dir: Path, context: str, groups: list[tuple[str, str]],
                  primary: str, holm_primaries: bool = True) -> None:
    """Per reference in `groups` ((b or '' for all, heading)): the method-level Δ [CI] table (or the one-seed
    sentence), then the model-level one; the CSV (both levels) and the forest plot (the leading question's)."""
    with atomic_path(out_dir / "significance.csv") as tmp:
        comps.to_csv(tmp, index=False)
    doc.text("## Is the difference real?", stats.METHOD.format(primary=primary, family=stats.FAMILY[holm_primaries]))
    n = int(comps["n_seqs"].max())
    if not stats.can_call(n):
        doc.text(f"**Too few to tell:** {n} sequences cannot reach p ≤ {stats.ALPHA} whatever the numbers (the "
                 f"smallest possible p is {stats.smallest_p(n):.3g}); a verdict needs at least 6 sequences.")
    adjusted = "primary verdicts Holm-adjusted over the table" if holm_primaries else "primary verdicts unadjusted"
    for ref, heading in groups:
        sub = comps if not ref else comps[comps["b"] == ref]
        if sub.empty:
            continue
        doc.text(f"### {heading}")
        for level in stats.LEVELS:
            rows = sub[sub["level"] == level]
            if rows.empty:
                continue
            if (rows["verdict"] == stats.ONE_SEED).all():
                doc.text(f"{stats.QUESTION[level]} *{stats.ONE_SEED}*: with one training seed per trained entry the "
                         "method-level question has no answer here; every verdict below is about these trained "
                         "models (`bench ablate --seeds N` with N ≥ 2, and `bench plan`, for the method).")
                continue
            doc.text(stats.QUESTION[level])
            interval = "95% fiducial interval, seeds and sequences random" if level == "method" else (
                "95% sign-flip interval, sequences random")
            doc.table(
                stats.delta_table(rows),
                f"{heading}, {'the method retrained' if level == 'method' else 'these trained models'}: mean "
                f"Δ [{interval}] on {context}; n = sequences × seeds; rates in points, IDs per sequence; "
                f"verdict by {primary} ({adjusted}), secondary metrics Holm-adjusted.",
                f"tab:delta-{ref or 'pairs'}-{level}",
            )
    shown = comps[comps["level"] == "method"]
    if shown.empty or (shown["verdict"] == stats.ONE_SEED).all():
        shown, which = comps[comps["level"] == "model"], "these trained models, 95% sign-flip interval"
    else:
        which = "the method retrained, 95% fiducial interval"
    doc.figure(plots.forest_plot(shown, out_dir / "forest.png", f"Δ with 95% interval ({context})"),
               f"Mean Δ with its 95% interval per comparison and metric ({which}; {context}; no bar: too few "
               "sequences for an interval); dashed line: 0.")


def _design(doc: Doc, out_dir: Path, primary: str, context: str) -> None:
    """The planner (`bench plan`) on this folder: what the design detects per question, and what Δ = 1 would need."""
    from bench.commands.plan import plan_folder

    table, text = plan_folder(out_dir, primary)
    doc.text("## Design", text)
    doc.table(table.drop(columns=["pilot"]), f"Design planner ({context}): spreads of the {primary} difference, the "
              "smallest |Δ| each question detects with 80% power, sequences needed per number of seeds.",
              "tab:design")


def pool_seeds(tables, entry_of: dict[str, str]):
    """Sum the occlusion counts of several runs (e.g. the seeds of one variant) and recompute the rates."""
    vis = tables.by_visibility.assign(tracker=tables.by_visibility["tracker"].map(entry_of))
    vis = vis.assign(consistent=vis["id_consistency"] * vis["matched"])
    vis = vis.groupby(["tracker", "bin"], sort=False)[["gt_boxes", "matched", "id_switches", "consistent"]].sum()
    vis = vis.reset_index()
    vis["recall"] = vis["matched"] / vis["gt_boxes"].where(vis["gt_boxes"] > 0)
    vis["idsw_per_100"] = 100 * vis["id_switches"] / vis["matched"].where(vis["matched"] > 0)
    vis["id_consistency"] = vis["consistent"] / vis["matched"].where(vis["matched"] > 0)
    rel = tables.relink.assign(tracker=tables.relink["tracker"].map(entry_of))
    rel = rel.groupby(["tracker", "gap_bin"], sort=False)[["gaps", "relinked"]].sum().reset_index()
    rel["rate"] = rel["relinked"] / rel["gaps"].where(rel["gaps"] > 0)
    return dataclasses.replace(tables, by_visibility=vis.drop(columns="consistent"), relink=rel)


def _by_group(keys: pd.Series) -> list[int]:
    """Row positions grouped by key in first-seen order, stable within a key: a bin's trackers stand together, so
    the bold best-in-bin is read within its block."""
    order = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return sorted(range(len(keys)), key=lambda i: order[keys.iloc[i]])


def occlusion_tables(tables) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Display frames (and bold masks, best per bin) of the by-visibility and re-link tables."""
    v = tables.by_visibility
    v = v.iloc[_by_group(v["bin"])]
    vis = pd.DataFrame(
        {
            "bin": v["bin"],
            "tracker": v["tracker"],
            "gt boxes": v["gt_boxes"],
            "matched": v["matched"],
            "recall": 100 * v["recall"],
            "IDsw/100": v["idsw_per_100"],
            "ID consistency": 100 * v["id_consistency"],
        }
    )
    r = tables.relink
    r = r.iloc[_by_group(r["gap_bin"])]
    rel = pd.DataFrame({"gap": r["gap_bin"], "tracker": r["tracker"], "gaps": r["gaps"], "relinked": r["relinked"],
                        "re-link rate": 100 * r["rate"]})
    vis, rel = vis.reset_index(drop=True), rel.reset_index(drop=True)
    vis_txt = as_text(vis, {"gt boxes": 0, "matched": 0, "recall": 1, "IDsw/100": 2, "ID consistency": 1})
    rel_txt = as_text(rel, {"gaps": 0, "relinked": 0, "re-link rate": 1})
    vis_num = vis[["recall", "IDsw/100", "ID consistency"]].round({"recall": 1, "IDsw/100": 2, "ID consistency": 1})
    vis_bold = latex.best_mask(vis_num, groups=vis["bin"]).reindex(columns=vis.columns, fill_value=False)
    rel_bold = latex.best_mask(rel[["re-link rate"]].round(1), groups=rel["gap"]).reindex(
        columns=rel.columns, fill_value=False
    )
    return vis_txt, vis_bold, rel_txt, rel_bold


COMMON_MODEL_KEYS = {f.name for f in dataclasses.fields(ModelConfig)} | {"extra"}


def _occlusion(doc: Doc, out_dir: Path, results: dict[str, Path], suite: dict, context: str,
               entry_of: dict[str, str] | None = None, pairs: list[tuple[str, str]] | None = None,
               untrained: set[str] | None = None) -> None:
    doc.text("## Occlusion")
    seqs, root = suite["sequences"], Path(suite["root"])
    stored = out_dir / "occlusion_by_sequence.csv"  # per-sequence counts: the report rebuilds from them alone
    missing = [str(p / f"{s}.txt") for p in results.values() for s in seqs if not (p / f"{s}.txt").is_file()]
    if (missing or not root.is_dir()) and stored.is_file():
        from bench.evaluate.occlusion import tables_from_counts

        tables = tables_from_counts(pd.read_csv(stored))
    elif missing:
        doc.text(f"Not analysed: the run folder lacks the per-sequence result files (e.g. `{missing[0]}`).")
        return
    elif not root.is_dir():
        doc.text(f"Not analysed: the suite's ground truth is no longer at `{root}`.")
        return
    else:
        from bench.evaluate.occlusion import analyse_occlusion

        tables = analyse_occlusion(results, root, seqs, suite.get("benchmark"))
        if tables is None:
            doc.text(
                f"Not analysed: the ground truth of suite `{suite['name']}` has no visibility column (as in MOT15 "
                "and DanceTrack), so boxes cannot be binned by occlusion."
            )
            return
        if getattr(tables, "per_sequence", None) is not None:
            with atomic_path(stored) as tmp:
                tables.per_sequence.to_csv(tmp, index=False)
    if entry_of:
        tables = pool_seeds(tables, entry_of)
    with atomic_path(out_dir / "occlusion_visibility.csv") as tmp:
        tables.by_visibility.to_csv(tmp, index=False)
    with atomic_path(out_dir / "occlusion_relink.csv") as tmp:
        tables.relink.to_csv(tmp, index=False)
    doc.text(
        "Every gt box is joined with the evaluation's match (IoU ≥ 0.5) and binned by its visibility. Recall = "
        "matched / gt boxes; IDsw/100 = ID switches per 100 matched boxes; ID consistency = share of matched boxes "
        "whose tracker id is the one the gt track gets in the global IDF1 matching. Re-link rate = share of gaps "
        "(runs of frames where the gt track is unmatched or its visibility < 0.1, with a matched frame on each side) "
        "after which it gets back the tracker id it had before the gap."
        + (" Counts are summed over seeds." if entry_of else "")
    )
    vis_txt, vis_bold, rel_txt, rel_bold = occlusion_tables(tables)
    doc.table(vis_txt, f"Metrics by gt visibility bin ({context}); rates in %.", "tab:visibility", vis_bold)
    doc.table(rel_txt, f"Re-link rate after an occlusion gap by gap length in frames ({context}).", "tab:relink",
              rel_bold)
    doc.figure(plots.plot_visibility(tables.by_visibility, out_dir / "visibility.png"),
               f"Recall, ID switches per 100 matched boxes and ID consistency by visibility ({context}).")
    doc.figure(plots.plot_relink(tables.relink, out_dir / "relink.png"),
               f"Re-link rate by occlusion gap length ({context}).")
    if getattr(tables, "per_sequence", None) is not None and pairs:
        _occlusion_deltas(doc, out_dir, tables.per_sequence, entry_of, pairs, context, untrained)


def _occlusion_deltas(doc: Doc, out_dir: Path, per_sequence: pd.DataFrame, entry_of: dict[str, str] | None,
                      pairs: list[tuple[str, str]], context: str, untrained: set[str] | None = None) -> None:
    """Δ per visibility and gap bin with intervals over sequences, a verdict, and where it is/is not: the method's
    question first where there are seeds (ablations), then these models'."""
    from bench.analysis import occlusion_stats

    model = occlusion_stats.compare_bins(occlusion_stats.sequence_rates(per_sequence, entry_of), pairs)
    if model.empty:
        return
    frames = [model.assign(level="model")]
    doc.text("### Where is the difference?")
    if entry_of:  # run keys "<entry>/s<seed>": each seed's rates apart
        entry_seed = {k: (e, int(k.rsplit("/s", 1)[1])) for k, e in entry_of.items()}
        method = occlusion_stats.compare_bins_method(occlusion_stats.seed_rates(per_sequence, entry_seed), pairs,
                                                     untrained or set())
        if not method.empty and (method["verdict"] != stats.ONE_SEED).any():
            frames.insert(0, method.assign(level="method"))
            doc.text(occlusion_stats.METHOD_TEXT, *occlusion_stats.where_sentences(method))
            doc.table(occlusion_stats.delta_table(method),
                      f"Occlusion differences A − B per bin, the method retrained ({context}): mean Δ in "
                      "points [95% fiducial interval] (sequences with data in the bin), verdict after Holm over each "
                      "comparison's bins.", "tab:occlusion-delta-method")
    with atomic_path(out_dir / "occlusion_significance.csv") as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)
    doc.text(occlusion_stats.TEXT, *occlusion_stats.where_sentences(model))
    doc.table(occlusion_stats.delta_table(model),
              f"Occlusion differences A − B per bin, these trained models ({context}): mean Δ in points "
              "[95% sign-flip interval] (sequences with data in the bin), verdict after Holm over each comparison's "
              "bins.", "tab:occlusion-delta")


def published_table() -> pd.DataFrame:
    """The papers' published test-set numbers (data in bench/present/published.csv), for context only."""
    return pd.read_csv(PUBLISHED).set_index(["benchmark", "tracker"])


def _published(doc: Doc, benchmark: str | None) -> None:
    """The published rows of the suite's own benchmark (none for a benchmark without any, or an unrecorded one)."""
    table = published_table()
    doc.text("## Published results (papers, not measured here)")
    table = table[table.index.get_level_values("benchmark") == benchmark]
    if table.empty:
        doc.text(f"No published results for benchmark {benchmark or 'unrecorded'} in bench/present/published.csv.")
        return
    shown = as_text(table.drop(columns="source").reset_index(), {"HOTA": 1, "IDF1": 1, "MOTA": 1, "IDs": 0})
    doc.text(
        f"Published {benchmark} test-set results as reported by the papers (not measured by bench; other detector, "
        "data and training — for context only, not comparable to the numbers above).",
    )
    doc.table(shown, f"Published {benchmark} test-set results (from the papers; not measured by bench).",
              "tab:published")
    doc.text("Sources: " + "; ".join(f"{b} {t}: {src}" for (b, t), src in table["source"].items()))


def _finish(doc: Doc, out_dir: Path, stem: str, title: str, pdf: bool) -> list[Path]:
    md_path, tex_path = out_dir / f"{stem}.md", out_dir / f"{stem}.tex"
    atomic_write_text(md_path, "\n".join(doc.md))
    atomic_write_text(tex_path, f"% {latex.ascii_tex(title)}\n% needs \\usepackage{{booktabs,graphicx}}\n\n"
                      + "\n".join(doc.tex))
    paths = [md_path, tex_path, *(p for p, _ in doc.figures)]
    if pdf:
        doc_path = out_dir / f"{stem}-document.tex"
        atomic_write_text(doc_path, latex.document(title, tex_path.name, [(p.name, c) for p, c in doc.figures]))
        paths += [doc_path, latex.compile_pdf(doc_path, out_dir / f"{stem}.pdf")]
    return paths


def untrained_trackers(names: list[str]) -> set[str]:
    """Registered trackers without a trained model (bytetrack): no seed effect; any other entry may carry one."""
    from bench.core.trackers_registry import REGISTRY

    return {n for n in names if n in REGISTRY and not REGISTRY[n].needs_features}


def write_report(run_dir: Path, published: bool = True, pdf: bool = False, primary: str = "HOTA",
                 holm_primaries: bool = True, error_strips: int = 12) -> list[Path]:
    """Write report.md, report.tex, report.html, CSVs and PNG plots into the run folder (and report.pdf); returns
    the paths. `error_strips`: strips of the top N fixed and N caused ID switches per tracker pair."""
    metrics, manifest = load_metrics(run_dir)
    suite = manifest["suite"]
    det = manifest["detections"]["source"]
    context = f"{suite['name']} val, seed {manifest.get('seed', 0)}, {det} detections"
    cuda = str(manifest["device"]).startswith("cuda")
    if cuda:  # table captions carry it too: a LaTeX table travels without the report's text
        context += ", CUDA (bf16 Re-ID)"
    doc = Doc()
    head = (
        f"Run `{manifest['run_id']}` on suite `{suite['name']}` ({len(suite['sequences'])} val sequences, "
        f"{suite['benchmark']}-style evaluation with TrackEval, cross-checked by py-motmetrics); "
        f"detections: `{det}`; seed {manifest.get('seed', 0)}; commit `{manifest['git_commit'][:10]}`; "
        f"device `{manifest['device']}`. Rates in %, FPS = tracker-only frames per second; best value per column "
        "in bold in the LaTeX tables (↑ higher is better, ↓ lower is better)."
    )
    if suite.get("benchmark_reason"):
        head += f" Protocol: {suite['benchmark_reason']}."
    if cuda:
        head += (" On CUDA the Re-ID models train and embed in bf16 mixed precision, so the appearance trackers' "
                 "numbers differ from a CPU run's: compare runs made on one kind of device.")
    doc.text(f"# bench report: {suite['name']} ({suite['benchmark']} protocol)", head)
    for tracker, reid in (manifest.get("reid") or {}).items():
        m, mc = reid.get("metrics", {}), reid["model_config"]
        # the model's own switches: fields beyond the common ones (older checkpoints kept them in `extra`)
        own = {k: v for k, v in {**mc, **mc.get("extra", {})}.items() if k not in COMMON_MODEL_KEYS}
        doc.text(
            f"{tracker} Re-ID model `{mc['name']}` ({mc['layout']} ×{mc['width']}, input "
            f"{mc['input_size']}{', ' + str(own) if own else ''}), trained on "
            f"{reid.get('train_crops', '?')} crops in {reid.get('train_seconds', float('nan')):.0f} s: val mAP "
            f"{100 * m.get('mAP', float('nan')):.1f}, rank-1 {100 * m.get('rank1', float('nan')):.1f} "
            f"(checkpoint `{Path(reid['path']).name}`)."
        )
    doc.text(*manifest.get("notes", []))  # e.g. where `bench compare` read the results from
    summary = summary_table(metrics).reset_index()
    cols = [c for c in MAIN if c in summary]
    doc.text("## Summary")
    doc.table(as_text(summary, _digits(cols)), f"Tracking results ({context}).", "tab:summary",
              latex.best_mask(summary[cols]).reindex(columns=summary.columns, fill_value=False))
    per_seq = per_sequence_table(metrics).reset_index()
    doc.text("## Per sequence")
    doc.table(as_text(per_seq, _digits(cols)), f"Per-sequence results ({context}); best per sequence in bold.",
              "tab:per-seq", latex.best_mask(per_seq[cols], groups=per_seq["seq"]).reindex(
                  columns=per_seq.columns, fill_value=False))
    trackers = [t for t in manifest["trackers"] if t in set(metrics["tracker"])]
    if len(trackers) > 1:
        comps = stats.run_comparisons(stats.values_from_metrics(metrics), trackers, primary, holm_primaries,
                                      untrained_trackers(trackers))
        _significance(doc, comps, run_dir, context, [("", "Tracker pairs (A vs B, Δ = A − B)")], primary,
                      holm_primaries)
    _occlusion(doc, run_dir, {t: run_dir / t for t in trackers}, suite, context,
               pairs=[(a, b) for i, b in enumerate(trackers) for a in trackers[i + 1 :]])
    from bench.present import errors_section

    errors = errors_section.section(doc, run_dir, manifest, trackers, context, error_strips)
    if manifest.get("tuning"):  # `bench run --tuned N`
        from bench.commands.tune import report_section

        report_section(doc, run_dir, manifest["tuning"], context)
    doc.text("## Plots")
    for p in plots.plot_metrics(metrics, run_dir):
        doc.figure(p, f"{p.stem.replace('_', ' ')} ({context}).")
    if published:
        _published(doc, suite.get("benchmark"))
    paths = _finish(doc, run_dir, "report", f"bench report: run {manifest['run_id']}, suite {suite['name']}", pdf)
    from bench.present.html_report import write_html

    return [*paths, write_html(run_dir, manifest, metrics, errors, [p for p, _ in doc.figures])]


def write_ablation_report(out_dir: Path, published: bool = True, pdf: bool = False,
                          primary: str = "HOTA", holm_primaries: bool = True) -> list[Path]:
    """ablation.md / .tex: mean ± std over seeds, Δ [CI] vs the baseline and vs the reference tracker, occlusion,
    plots."""
    from bench.commands.ablate import AblationRecord

    record = AblationRecord.load(out_dir)
    table = record.table()
    order = [record.reference, *record.variants]
    runs = record.runs()
    first = next((p / "manifest.json" for p in runs.values() if (p / "manifest.json").is_file()), None)
    manifest = json.loads(first.read_text()) if first else {}
    det = manifest.get("detections", {}).get("source", "unrecorded")
    context = f"{record.suite} val, {record.seeds} seed(s), {det} detections"
    benchmark = manifest.get("suite", {}).get("benchmark")
    doc = Doc()
    doc.text(
        f"# Ablation: {record.name} ({benchmark or 'unrecorded'} protocol)",
        f"Ablation `{record.name}` on suite `{record.suite}` (val split, {det} detections): {record.description}. "
        f"{record.tracker} variants, {record.seeds} seed(s) each, mean ± std over seeds of the suite-level metrics; "
        f"{record.reference} (run once) for reference. HOTA, AssA, IDF1, MOTA, mAP and rank-1 in %; "
        "mAP/rank-1 on the val split's gt crops.",
    )
    summary = stats.summarise(table, record.baseline, order)
    means = stats.summary_means(table, order)
    bold = latex.best_mask(means).reindex(index=summary.index, columns=summary.columns, fill_value=False)
    doc.table(summary.reset_index(), f"Ablation {record.name} ({context}): mean ± std over seeds.",
              f"tab:ablation-{record.name}", bold.reset_index(drop=True).assign(variant=False))
    doc.text("Variants:", "\n".join(f"- `{v}`: {record.overrides.get(v) or 'default config'}"
                                     for v in record.variants))
    comps = record.comparisons(primary, holm_primaries)
    if comps is None:
        doc.text("## Is the difference real?",
                 f"Not computed: the per-seed run folders (`<variant>-s<seed>/`, `{record.reference}/`) with their "
                 "per-sequence metrics are not all in this folder.")
    else:
        _significance(doc, comps, out_dir, context, [(record.baseline, f"Variants vs {record.baseline}"),
                                                     (record.reference, f"Variants vs {record.reference}")], primary,
                      holm_primaries)
        suite = manifest["suite"]
        results = {f"{v}/s{s}": p / (record.reference if v == record.reference else record.tracker)
                   for (v, s), p in runs.items()}
        _design(doc, out_dir, primary, context)
        pairs = [(v, record.baseline) for v in record.variants if v != record.baseline]
        _occlusion(doc, out_dir, results, suite, context, entry_of={k: k.split("/")[0] for k in results},
                   pairs=[*pairs, (record.baseline, record.reference)], untrained=record.untrained())
    doc.figure(plots.plot_ablation(table, order, record.name, out_dir / "ablation.png"),
               f"Ablation {record.name}: mean ± sd over seeds ({context}).")
    if published:
        _published(doc, benchmark)
    return _finish(doc, out_dir, "ablation", f"bench ablation {record.name} on {record.suite}", pdf)
