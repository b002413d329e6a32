"""`bench report`: report.md / report.tex (+ optional PDF) with tables, calibrated verdicts, the breakdowns
(occlusion, ...) and plots, rendered from a stored run or ablation folder alone: its record (`bench.core.record`:
manifest, metrics, the breakdown tables computed when it was evaluated), never the suite or the tracks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from bench.present import latex, plots

from bench.analysis import stats
from bench.core import metric_catalog, record
from bench.core.fsutil import atomic_write_text
from bench.core.record import BreakdownTables, Manifest, RunRecord
from bench.evaluate.breakdowns import Breakdown, breakdowns
from bench.present.metric_tables import MAIN, display_table, per_sequence_table, summary_table
from trackers.reid.configs import ModelConfig

PUBLISHED = Path(__file__).resolve().parent / "published.csv"


def load_metrics(run_dir: Path) -> tuple[pd.DataFrame, Manifest]:
    """A run's metrics and manifest (through its record: a missing or malformed file is one error naming it)."""
    rec = RunRecord.load(run_dir)
    return rec.metrics, rec.manifest


def as_text(df: pd.DataFrame, digits: dict[str, int]) -> pd.DataFrame:
    """Display strings with a fixed number of decimals per column (missing values as '–')."""
    out = df.copy().astype(object)
    for c, d in digits.items():
        if c in out:
            out[c] = [("–" if pd.isna(v) else f"{float(v):.{d}f}") for v in df[c]]
    return out


def _digits(cols) -> dict[str, int]:
    return {c: metric_catalog.digits(c) for c in cols}


class Doc:
    """Collects one report's markdown lines, LaTeX tables and figures (for the standalone PDF)."""

    def __init__(self) -> None:
        self.md: list[str] = []
        self.tex: list[str] = []
        self.figures: list[tuple[Path, str]] = []

    def text(self, *paragraphs: str) -> None:
        for p in paragraphs:
            self.md += [p, ""]

    def table(self, df: pd.DataFrame, caption: str, label: str, bold: pd.DataFrame | None = None,
              directions: dict[str, str] | None = None) -> None:
        """Markdown (Unicode kept) and LaTeX (ASCII) of the same display frame; headers carry the direction (the
        catalog's, or `directions` for columns it does not know)."""
        df = df.reset_index(drop=True)
        heads = {c: latex.with_direction(c, directions) for c in df.columns}
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
    record.write_significance(out_dir, comps)
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


def _by_group(keys: pd.Series) -> list[int]:
    """Row positions grouped by key in first-seen order, stable within a key: a bin's trackers stand together, so
    the bold best-in-bin is read within its block."""
    order = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return sorted(range(len(keys)), key=lambda i: order[keys.iloc[i]])


def breakdown_table(b: Breakdown, combined: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Display strings and bold mask (best per bin, for the columns with a direction) of a breakdown's combined
    table, rows grouped by bin."""
    t = combined.iloc[_by_group(combined[b.key])]
    shown = pd.DataFrame({b.key_header: t[b.key], "tracker": t["tracker"],
                          **{c.header: c.scale * t[c.source] for c in b.shown}}).reset_index(drop=True)
    text = as_text(shown, {c.header: c.digits for c in b.shown})
    directed = [c for c in b.shown if c.direction]
    numbers = shown[[c.header for c in directed]].round({c.header: c.digits for c in directed})
    bold = latex.best_mask(numbers, groups=shown[b.key_header], directions=directions(b))
    return text, bold.reindex(columns=shown.columns, fill_value=False)


def directions(b: Breakdown) -> dict[str, str]:
    return {c.header: c.direction for c in b.shown if c.direction}


NOT_STORED = "the run folder holds no stored table of it (written before breakdowns were stored with runs; rerun it)"


def _breakdowns(doc: Doc, out_dir: Path, tables: dict[str, BreakdownTables], reasons: dict[str, str], context: str,
                pooled: bool = False) -> None:
    """One section per breakdown section (e.g. Occlusion): why a breakdown was not computed, else its definitions,
    table and plot, from the stored tables only."""
    sections: dict[str, list[Breakdown]] = {}
    for b in breakdowns():
        sections.setdefault(b.section, []).append(b)
    for section, members in sections.items():
        doc.text(f"## {section}")
        present = [b for b in members if b.name in tables]
        for why in dict.fromkeys(reasons.get(b.name) or NOT_STORED for b in members if b.name not in tables):
            doc.text(f"Not analysed: {why}.")
        if not present:
            continue
        intro = " ".join(dict.fromkeys(b.intro for b in present))
        doc.text(intro + (" Counts are summed over seeds." if pooled else ""))
        for b in present:
            combined = tables[b.name].combined
            text, bold = breakdown_table(b, combined)
            doc.table(text, b.caption.format(context=context), f"tab:{b.short}", bold, directions(b))
            doc.figure(plots.plot_breakdown(combined, b, out_dir / f"{b.short}.png"), b.figure.format(context=context))


COMMON_MODEL_KEYS = {f.name for f in dataclasses.fields(ModelConfig)} | {"extra"}


def _precision_note(reid: dict) -> str:
    """Training in bf16 mixed precision (`train.precision`) changes the weights, embedding in it the features, so
    both are said; checkpoints and runs written before they were recorded used bf16 on CUDA only."""
    trained = " in bf16 mixed precision" if reid.get("precision") == "bf16" else ""
    return trained + (" (embedded in bf16)" if reid.get("embedding_precision") == "bf16" else "")


def _arithmetic_note(reid: dict) -> str:
    """Where the model trained, as far as its weights depend on it: the CPU's kernel level and thread count, or the
    GPU ("" for checkpoints written before it was recorded)."""
    a = reid.get("arithmetic") or {}
    if "gpu" in a:
        return f" on {a['gpu']}"
    if "threads" in a:
        return f" with {a['threads']} CPU thread{'s' if a['threads'] != 1 else ''} ({a.get('cpu_kernels', '?')} kernels)"
    return ""


def _early_stop_note(reid: dict) -> str:
    """How many epochs an early-stopped training ran and whose weights it kept ("" without early stopping, and for
    checkpoints written before it existed)."""
    if not reid.get("train_config", {}).get("early_stop"):
        return ""
    return (f" (early stop: {reid.get('epochs_used', '?')} of {reid['train_config'].get('epochs', '?')} epochs, "
            f"weights of epoch {reid.get('best_epoch', '?')})")


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
    record.write_occlusion_significance(out_dir, pd.concat(frames, ignore_index=True))
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
    rec = RunRecord.load(run_dir)
    metrics, manifest = rec.metrics, rec.manifest
    suite = manifest.suite
    det = manifest.detection_source
    context = f"{suite.name} val, seed {manifest.seed}, {det} detections"
    cuda = manifest.device.startswith("cuda")
    # Re-ID models that trained or embedded in bf16 on the CPU (train.precision auto, on a CPU that computes bf16)
    cpu_bf16 = [] if cuda else [t for t, r in manifest.reid.items()
                                if "bf16" in (r.get("precision"), r.get("embedding_precision"))]
    if cuda:  # table captions carry it too: a LaTeX table travels without the report's text
        context += ", CUDA (bf16 Re-ID)"
    elif cpu_bf16:
        context += ", bf16 Re-ID"
    doc = Doc()
    head = (
        f"Run `{manifest.run_id}` on suite `{suite.name}` ({len(suite.sequences)} val sequences, "
        f"{suite.benchmark}-style evaluation with TrackEval, cross-checked by py-motmetrics); "
        f"detections: `{det}`; seed {manifest.seed}; commit `{manifest.git_commit[:10]}`; "
        f"device `{manifest.device}`. Rates in %, FPS = tracker-only frames per second; best value per column "
        "in bold in the LaTeX tables (↑ higher is better, ↓ lower is better)."
    )
    if suite.benchmark_reason:
        head += f" Protocol: {suite.benchmark_reason}."
    if cuda:
        head += (" On CUDA the Re-ID models train and embed in bf16 mixed precision unless "
                 "`train.precision = \"fp32\"` (each model's line below says which), so the appearance trackers' "
                 "numbers differ from a CPU run's: compare runs made on one kind of device.")
    elif cpu_bf16:
        head += (f" The Re-ID models of {', '.join(cpu_bf16)} ran in bf16 mixed precision on this CPU, which computes "
                 "bf16 (`train.precision`; each model's line below says which), so the appearance trackers' numbers "
                 "differ from those of an fp32 CPU: compare runs made with one precision.")
    doc.text(f"# bench report: {suite.name} ({suite.benchmark} protocol)", head)
    for tracker, reid in manifest.reid.items():
        m, mc = reid.get("metrics", {}), reid["model_config"]
        # the model's own switches: fields beyond the common ones (older checkpoints kept them in `extra`)
        own = {k: v for k, v in {**mc, **mc.get("extra", {})}.items() if k not in COMMON_MODEL_KEYS}
        doc.text(
            f"{tracker} Re-ID model `{mc['name']}` ({mc['layout']} ×{mc['width']}, input "
            f"{mc['input_size']}{', ' + str(own) if own else ''}), trained on "
            f"{reid.get('train_crops', '?')} crops in {reid.get('train_seconds', float('nan')):.0f} s"
            f"{_arithmetic_note(reid)}{_precision_note(reid)}{_early_stop_note(reid)}: val mAP "
            f"{100 * m.get('mAP', float('nan')):.1f}, rank-1 {100 * m.get('rank1', float('nan')):.1f} "
            f"(checkpoint `{Path(reid['path']).name}`)."
        )
    doc.text(*manifest.notes)  # e.g. where `bench compare` read the results from
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
    trackers = [t for t in manifest.trackers if t in set(metrics["tracker"])]
    if len(trackers) > 1:
        comps = stats.run_comparisons(stats.values_from_metrics(metrics), trackers, primary, holm_primaries,
                                      untrained_trackers(trackers))
        _significance(doc, comps, run_dir, context, [("", "Tracker pairs (A vs B, Δ = A − B)")], primary,
                      holm_primaries)
    _breakdowns(doc, run_dir, rec.breakdowns, manifest.breakdowns, context)
    from bench.analysis.occlusion_stats import sequence_counts

    counts = sequence_counts(rec.breakdowns)
    if counts is not None and len(trackers) > 1:
        _occlusion_deltas(doc, run_dir, counts, None, [(a, b) for i, b in enumerate(trackers) for a in trackers[i + 1 :]],
                          context)
    from bench.present import errors_section

    errors = errors_section.section(doc, run_dir, manifest, trackers, context, error_strips)
    if manifest.tuning:  # `bench run --tuned N`
        from bench.present.tuning import report_section

        report_section(doc, run_dir, manifest.tuning, context)
    doc.text("## Plots")
    for p in plots.plot_metrics(metrics, run_dir):
        doc.figure(p, f"{p.stem.replace('_', ' ')} ({context}).")
    if published:
        _published(doc, suite.benchmark)
    paths = _finish(doc, run_dir, "report", f"bench report: run {manifest.run_id}, suite {suite.name}", pdf)
    from bench.present.html_report import write_html

    return [*paths, write_html(run_dir, manifest, metrics, errors, [p for p, _ in doc.figures])]


def write_ablation_report(out_dir: Path, published: bool = True, pdf: bool = False,
                          primary: str = "HOTA", holm_primaries: bool = True) -> list[Path]:
    """ablation.md / .tex: mean ± std over seeds, Δ [CI] vs the baseline and vs the reference tracker, the design
    planner, the breakdowns pooled over seeds with their per-bin Δs, plots."""
    from bench.commands.ablate import AblationRecord

    ablation = AblationRecord.load(out_dir)
    table = ablation.table()
    order = [ablation.reference, *ablation.variants]
    runs = ablation.runs()
    manifest = record.load_manifest(next(iter(runs.values()))) if runs else None
    det = manifest.detection_source if manifest else "unrecorded"
    context = f"{ablation.suite} val, {ablation.seeds} seed(s), {det} detections"
    benchmark = manifest.suite.benchmark if manifest else None
    doc = Doc()
    doc.text(
        f"# Ablation: {ablation.name} ({benchmark or 'unrecorded'} protocol)",
        f"Ablation `{ablation.name}` on suite `{ablation.suite}` (val split, {det} detections): "
        f"{ablation.description}. {ablation.tracker} variants, {ablation.seeds} seed(s) each, mean ± std over seeds "
        f"of the suite-level metrics; {ablation.reference} (run once) for reference. HOTA, AssA, IDF1, MOTA, mAP and "
        "rank-1 in %; mAP/rank-1 on the val split's gt crops.",
    )
    summary = stats.summarise(table, ablation.baseline, order)
    means = stats.summary_means(table, order)
    bold = latex.best_mask(means).reindex(index=summary.index, columns=summary.columns, fill_value=False)
    doc.table(summary.reset_index(), f"Ablation {ablation.name} ({context}): mean ± std over seeds.",
              f"tab:ablation-{ablation.name}", bold.reset_index(drop=True).assign(variant=False))
    doc.text("Variants:", "\n".join(f"- `{v}`: {ablation.overrides.get(v) or 'default config'}"
                                     for v in ablation.variants))
    comps = ablation.comparisons(primary, holm_primaries)
    if comps is None:
        doc.text("## Is the difference real?",
                 f"Not computed: the per-seed run folders (`<variant>-s<seed>/`, `{ablation.reference}/`) with their "
                 "per-sequence metrics are not all in this folder.")
    else:
        _significance(doc, comps, out_dir, context, [(ablation.baseline, f"Variants vs {ablation.baseline}"),
                                                     (ablation.reference, f"Variants vs {ablation.reference}")],
                      primary, holm_primaries)
        _design(doc, out_dir, primary, context)
    tables = {b.name: t for b in breakdowns() if (t := record.load_breakdown(out_dir, b.name)) is not None}
    if tables or comps is not None:
        _breakdowns(doc, out_dir, tables, ablation.breakdowns, context, pooled=True)
    from bench.analysis.occlusion_stats import sequence_counts

    counts = sequence_counts(tables)
    if counts is not None and comps is not None:
        pairs = [(v, ablation.baseline) for v in ablation.variants if v != ablation.baseline]
        entry_of = {k: k.split("/s")[0] for k in counts["tracker"].unique()}
        _occlusion_deltas(doc, out_dir, counts, entry_of, [*pairs, (ablation.baseline, ablation.reference)], context,
                          ablation.untrained())
    doc.figure(plots.plot_ablation(table, order, ablation.name, out_dir / "ablation.png"),
               f"Ablation {ablation.name}: mean ± sd over seeds ({context}).")
    if published:
        _published(doc, benchmark)
    return _finish(doc, out_dir, "ablation", f"bench ablation {ablation.name} on {ablation.suite}", pdf)
