"""`bench report` from stored folders alone: significance, the breakdowns (stored tables, never the suite), paper-ready
LaTeX (ASCII, one header row, direction marks, best in bold, balanced environments, compiles with pdflatex), plots."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analysis import stats
from bench.core import record
from bench.core.errors import BenchError
from bench.evaluate.breakdowns import breakdowns, pool
from bench.evaluate.breakdowns.relink import Relink
from bench.evaluate.breakdowns.visibility import VisibilityBins
from bench.present import latex
from bench.commands.ablate import AblationRecord
from bench.present.report import _arithmetic_note, breakdown_table, write_ablation_report, write_report

from .test_cli import bench

SEQS = ["SEQ-A", "SEQ-B", "SEQ-C"]
EIGHT = [f"SEQ-{i}" for i in range(8)]  # enough sequences for a verdict (6 or more)
COLS = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDs", "FP", "FN", "FPS"]
BINS = ["[0, .25)", "[.25, .5)", "[.5, .75)", "[.75, 1]"]
GAPS = ["1-5", "6-15", "16-30", ">30"]
PDFLATEX = shutil.which("pdflatex")


NO_VISIBILITY = "the ground truth has no visibility column (as in MOT15 and DanceTrack), so boxes cannot be binned"


def _breakdown_tables(names: list[str], seqs: list[str] = SEQS) -> dict[str, record.BreakdownTables]:
    """Per-sequence counts as the evaluation stores them (tracker k matches one more box per bin and sequence than
    tracker k-1, with the same switches, and re-links one more gap), and their combined tables."""
    vis, rel = [], []
    for k, name in enumerate(names):
        for seq in seqs:
            for i, b in enumerate(BINS):
                matched = 40 + 10 * i + k
                vis.append({"tracker": name, "seq": seq, "bin": b, "gt_boxes": 100, "matched": matched,
                            "id_switches": 4 - i, "consistent": round((0.5 + 0.1 * i + 0.01 * k) * matched)})
            for i, g in enumerate(GAPS):
                rel.append({"tracker": name, "seq": seq, "gap_bin": g, "gaps": 10, "relinked": 8 - 2 * i + k})
    out = {}
    for b, rows in ((VisibilityBins(), vis), (Relink(), rel)):
        per_seq = b.rates(pd.DataFrame(rows))
        out[b.name] = record.BreakdownTables(per_seq, b.combine_sequences(per_seq))
    return out


def _write_run(run_dir: Path, trackers: dict[str, float], gt_root: Path, seed: int = 0, run_id: str = "r",
               device: str = "cpu", seqs: list[str] = SEQS, visibility: bool = True) -> None:
    """A run folder as `bench run` writes it: metrics.csv, the breakdown tables, manifest.json and <tracker>/<SEQ>.txt
    (`gt_root` is only recorded: a report never reads it)."""
    rows = []
    for t, level in trackers.items():
        for i, seq in enumerate([*seqs, "COMBINED"]):
            v = level + 0.01 * (i % 3) + 0.003 * seed
            rows.append({"seq": seq, "tracker": t, **{c: v for c in COLS[:5]}, "IDs": 20 - 10 * level + i,
                         "FP": 10, "FN": 100, "FPS": 50.0})
        (run_dir / t).mkdir(parents=True, exist_ok=True)
        for seq in seqs:
            (run_dir / t / f"{seq}.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    pd.DataFrame(rows).to_csv(run_dir / "metrics.csv", index=False)
    tables = _breakdown_tables(list(trackers), seqs) if visibility else {}
    for name, t in tables.items():
        record.write_breakdown(run_dir, name, t)
    suite = {"name": "tiny", "root": str(gt_root), "benchmark": "MOT17", "sequences": seqs}
    manifest = {"run_id": run_id, "suite": suite, "trackers": list(trackers), "git_commit": "0123456789abc",
                "device": device, "seed": seed, "detections": {"source": "public"}, "reid": {},
                "breakdowns": {b.name: "" if visibility else NO_VISIBILITY for b in breakdowns()}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def _check_tex(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.isascii(), [c for c in text if not c.isascii()]
    for env in set(re.findall(r"\\begin\{(\w+)\}", text)):
        assert text.count(f"\\begin{{{env}}}") == text.count(f"\\end{{{env}}}"), env
    assert text.count("{") == text.count("}") - text.count("\\}") + text.count("\\{")
    for block in re.findall(r"\\toprule\n(.*?)\\midrule", text, flags=re.S):
        assert block.count("\\\\") == 1, block  # exactly one header row (no index-name row)
    assert "multirow" not in text
    return text


def _compile(tex: Path, tmp_path: Path) -> None:
    if tex.read_text().lstrip("% \n").startswith("\\documentclass") or "\\documentclass" in tex.read_text():
        doc = tex
    else:
        doc = tex.with_name(f"wrap-{tex.stem}.tex")
        doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n"
                       f"\\begin{{document}}\n\\input{{{tex.name}}}\n\\end{{document}}\n")
    out = tmp_path / "pdfout"
    out.mkdir(exist_ok=True)
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={out}",
                           doc.name], cwd=doc.parent, capture_output=True, text=True, errors="replace")
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_run_report_has_significance_occlusion_and_paper_latex(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.50, "finetrack": 0.55}, gt)
    paths = write_report(run)
    md = (run / "report.md").read_text()
    assert "## Is the difference real?" in md and "finetrack vs bytetrack" in md and "3 × 1" in md
    # +5 points on every one of 3 sequences: the design cannot reach p <= 0.05, so no "better"
    assert "too few to tell" in md and "better" not in md.split("## Is the difference real?")[1].split("##")[0]
    assert "smallest possible p is 0.25" in md and "+5.0 [n/a]" in md
    both = pd.read_csv(run / "significance.csv")
    sig = both[both["level"] == "model"]
    assert set(sig["metric"]) == {"HOTA", "AssA", "IDF1", "MOTA", "IDs"}
    assert sig.loc[sig["metric"] == "HOTA", "delta"].iloc[0] == pytest.approx(5.0)
    assert set(sig["verdict"]) == {"too few to tell"} and sig["primary"].sum() == 1
    # one seed of a trained FineTrack: the method-level question is answered by saying so, first
    assert set(both.loc[both["level"] == "method", "verdict"]) == {stats.ONE_SEED}
    section = md.split("## Is the difference real?")[1]
    assert section.index("*one seed: the claim holds") < section.index("**These trained models:**")
    # occlusion: the stored tables in the report
    assert "Metrics by gt visibility bin" not in md and "| [0, .25)" in md and "| >30" in md
    for name in ("forest.png", "visibility.png", "relink.png", "metrics_per_tracker.png", "report.tex"):
        assert run / name in paths and (run / name).stat().st_size > 0
    tex = _check_tex(run / "report.tex")
    assert "HOTA$\\uparrow$" in tex and "IDs$\\downarrow$" in tex and "$\\Delta$HOTA" in tex
    summary = tex.split("\\label{tab:summary}")[1].split("\\end{table}")[0]
    assert "finetrack & \\bfseries 55.0" in summary and "bytetrack & 50.0" in summary
    published = tex.split("\\label{tab:published}")[1].split("\\end{table}")[0]
    assert "\\bfseries" not in published
    assert "\\resizebox" in tex and "synth" not in tex and "tiny val, seed 0, public detections" in tex


def test_enough_sequences_give_a_primary_verdict_and_holm_secondaries(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.50, "finetrack": 0.55}, gt, seqs=EIGHT)
    write_report(run, published=False, primary="IDF1")
    sig = pd.read_csv(run / "significance.csv").query("level == 'model'")
    prim = sig[sig["primary"]]
    assert prim["metric"].tolist() == ["IDF1"] and prim["verdict"].tolist() == ["better"]
    assert prim["p"].iloc[0] == pytest.approx(2 / 2**8)  # every sequence agrees: the smallest p of 8 units
    sec = sig[~sig["primary"]].set_index("metric")
    assert (sec["p_adj"] >= sec["p"]).all() and sec.loc["IDs", "verdict"] == "better"  # 5 fewer IDs everywhere
    md = (run / "report.md").read_text()
    assert "IDF1 is the primary metric" in md and "8 × 1" in md and "MDE IDF1" in md
    assert "HOTA better, AssA better, MOTA better, IDs better" in md


def test_gt_without_visibility_and_old_run_folders_are_said(tmp_path):
    gt = tmp_path / "gt"
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.5, "finetrack": 0.5}, gt, visibility=False)
    write_report(run, published=False)
    md = (run / "report.md").read_text()
    assert "no visibility column (as in MOT15 and DanceTrack)" in md and "| [0, .25)" not in md
    assert "too few to tell" in md  # identical trackers, 3 sequences
    old = tmp_path / "old"  # written before breakdowns were stored with runs: said, nothing recomputed
    _write_run(old, {"bytetrack": 0.5, "finetrack": 0.5}, gt, visibility=False)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["breakdowns"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    write_report(old, published=False)
    assert "holds no stored table" in (old / "report.md").read_text()


def test_a_run_folder_reports_with_its_suite_and_tracks_deleted(tmp_path):
    gt = tmp_path / "gt"  # never created: the suite is gone
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.5, "finetrack": 0.55}, gt)
    for t in ("bytetrack", "finetrack"):
        shutil.rmtree(run / t)
    write_report(run, published=False)
    md = (run / "report.md").read_text()
    occlusion = md.split("## Occlusion")[1].split("\n## ")[0]  # the Errors section's pictures do need the tracks
    assert "| [0, .25)" in occlusion and "| >30" in occlusion and "Not analysed" not in occlusion
    stored = pd.read_csv(run / "occlusion_visibility.csv")
    assert stored.equals(_breakdown_tables(["bytetrack", "finetrack"])[VisibilityBins.name].combined)


def test_a_malformed_run_record_is_one_error_naming_the_file(tmp_path):
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.5}, tmp_path / "gt")
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "seed": "zero"}))
    with pytest.raises(BenchError, match="seed: expected int") as e:
        write_report(run)
    assert "manifest.json" in str(e.value)
    (run / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "trackers"}))
    with pytest.raises(BenchError, match="missing key.*trackers"):
        write_report(run)
    (run / "manifest.json").write_text("{not json")
    with pytest.raises(BenchError, match="unreadable run manifest"):
        write_report(run)
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "occlusion_relink.csv").unlink()
    with pytest.raises(BenchError, match="occlusion_relink.*table is missing"):
        write_report(run)


def test_pooling_sums_counts_and_recomputes_rates():
    runs = {"v/s0": _breakdown_tables(["finetrack"], ["S"]), "v/s1": _breakdown_tables(["finetrack"], ["S"])}
    runs["v/s1"][VisibilityBins.name].per_seq["matched"] += 1  # seed 1 matches one more box per bin
    runs["v/s1"][Relink.name].per_seq["relinked"] += 1
    pooled, why = pool(runs, {"v/s0": "v", "v/s1": "v"}, {})
    assert why == {VisibilityBins.name: "", Relink.name: ""}
    row = pooled[VisibilityBins.name].combined.iloc[0]
    assert row["tracker"] == "v" and row["gt_boxes"] == 200 and row["matched"] == 81
    assert row["recall"] == pytest.approx(81 / 200) and row["idsw_per_100"] == pytest.approx(100 * 8 / 81)
    assert row["id_consistency"] == pytest.approx((20 + 20) / 81)  # consistent counts summed, never rates
    rel = pooled[Relink.name].combined.iloc[0]
    assert (rel["gaps"], rel["relinked"], rel["rate"]) == (20, 17, pytest.approx(0.85))
    _, why = pool({"v/s0": {}}, {"v/s0": "v"}, {VisibilityBins.name: "no visibility"})
    assert why[VisibilityBins.name] == "no visibility" and "has no stored" in why[Relink.name]
    tables = _breakdown_tables(["a", "b"])
    vis_txt, vis_bold = breakdown_table(VisibilityBins(), tables[VisibilityBins.name].combined)
    rel_txt, rel_bold = breakdown_table(Relink(), tables[Relink.name].combined)
    first = vis_bold[vis_txt["bin"] == BINS[0]]
    assert first["recall"].tolist() == [False, True] and first["IDsw/100"].tolist() == [False, True]
    assert rel_bold[rel_txt["gap"] == "1-5"]["re-link rate"].tolist() == [False, True]


def _write_ablation(out: Path, gt: Path, with_runs: bool = True, seqs: list[str] = SEQS) -> None:
    out.mkdir(parents=True)
    info = {"name": "tiny", "description": "tiny", "baseline": "full", "seeds": 2, "suite": "tiny",
            "variants": ["full", "stripes"], "overrides": {"full": {}, "stripes": {"x": "stripes"}}}
    (out / "ablation.json").write_text(json.dumps(info))
    rows = [{"variant": "bytetrack", "seed": 0, "HOTA": 0.5, "AssA": 0.5, "IDF1": 0.5, "MOTA": 0.5, "IDs": 30.0}]
    levels = {"full": 0.55, "stripes": 0.56}
    for seed in range(2):
        for v, level in levels.items():
            rows.append({"variant": v, "seed": seed, "HOTA": level, "AssA": level, "IDF1": level, "MOTA": level,
                         "IDs": 20.0, "mAP": 0.5, "rank1": 0.7, "train_seconds": 10.0})
            if with_runs:
                _write_run(out / f"{v}-s{seed}", {"finetrack": level}, gt, seed=seed, seqs=seqs)
    if with_runs:
        _write_run(out / "bytetrack", {"bytetrack": 0.5}, gt, seqs=seqs)
    pd.DataFrame(rows).to_csv(out / "ablation.csv", index=False)


def test_ablation_report_with_ci_against_baseline_and_bytetrack(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    out = tmp_path / "ablate-tiny"
    _write_ablation(out, gt, seqs=EIGHT)
    AblationRecord.load(out).write(record.read_ablation(out)[1])  # as run_ablation ends: the breakdowns pooled
    paths = write_ablation_report(out)
    md = (out / "ablation.md").read_text()
    assert "### Variants vs full" in md and "### Variants vs bytetrack" in md
    assert "stripes vs full" in md and "full vs bytetrack" in md and "8 × 2" in md
    # trained vs trained with 2 seeds: the method-level table leads, then these models'
    vs_full = md.split("### Variants vs full")[1].split("###")[0]
    assert vs_full.index("**The method, retrained:**") < vs_full.index("**These trained models:**")
    assert "the primary verdicts of one table are a family, Holm-adjusted together" in md
    both = pd.read_csv(out / "significance.csv")
    method = both[(both["level"] == "method") & both["primary"]].set_index(["a", "b"])
    assert method.loc[("stripes", "full"), "verdict"] == "better" and method.loc[("stripes", "full"), "n_seeds"] == 2
    sig = both[both["level"] == "model"]
    stripes = sig[(sig["a"] == "stripes") & (sig["b"] == "full")].set_index("metric")
    assert stripes.loc["HOTA", "verdict"] == "better"  # +1 point on every sequence and seed
    assert set(stripes["verdict"]) == {"better"}  # AssA, IDF1, MOTA, and 0.1 fewer IDs, after Holm
    # two tables, two families: the secondaries vs full are adjusted over 1 comparison x 4 metrics
    assert stripes.loc["AssA", "p_adj"] == pytest.approx(min(1.0, 4 * stripes.loc["AssA", "p"]))
    pooled = pd.read_csv(out / "occlusion_relink.csv")
    assert set(pooled["tracker"]) == {"bytetrack", "full", "stripes"}
    assert pooled.loc[pooled["tracker"] == "full", "gaps"].tolist() == [160, 160, 160, 160]  # 8 seqs × 2 seeds
    assert "## Occlusion" in md and "Counts are summed over seeds." in md
    tex = _check_tex(out / "ablation.tex")
    assert "56.0 $\\pm$ 0.0" in tex and "\\bfseries 56.0" in tex
    assert all(p.exists() for p in paths)


def test_ablation_report_without_run_folders_says_so(tmp_path):
    out = tmp_path / "ablate-old"
    _write_ablation(out, tmp_path, with_runs=False)
    write_ablation_report(out, published=False)
    md = (out / "ablation.md").read_text()
    assert "Not computed" in md and "stripes" in md
    _check_tex(out / "ablation.tex")


def test_ascii_tex_transliterates_names():
    """bench's signs become math; names (any Unicode) become ASCII LaTeX, distinct names staying distinct."""
    assert latex.ascii_tex("Δ ± – ×") == "$\\Delta$ $\\pm$ -- $\\times$"
    assert latex.ascii_tex("naïve Ärger Straße") == 'na\\"{i}ve \\"{A}rger Stra{\\ss}e'
    assert latex.ascii_tex("東京") != latex.ascii_tex("大阪") and latex.ascii_tex("東京 🚀").isascii()
    caption = latex._escape("suite $HOME\\x ~^ [a] {b}_%#&")
    assert caption == ("suite \\$HOME\\textbackslash{}x \\textasciitilde{}\\textasciicircum{} [a] \\{b\\}\\_"
                       "\\%\\#\\&")


def test_best_mask_directions_and_ties():
    df = pd.DataFrame({"HOTA": [50.0, 52.0, 52.0], "IDs": [10, 9, 12], "n": [1, 2, 3]})
    mask = latex.best_mask(df)
    assert mask["HOTA"].tolist() == [False, True, True]  # ties all bold
    assert mask["IDs"].tolist() == [False, True, False]  # lower is better
    assert not mask["n"].any()


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed")
def test_generated_tex_compiles_with_pdflatex(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.50, "deepsort": 0.48, "finetrack": 0.55}, gt)
    paths = write_report(run, pdf=True)
    assert run / "report.pdf" in paths and (run / "report.pdf").read_bytes()[:4] == b"%PDF"
    assert not list(run.glob("*.aux")) and not list(run.glob("*.log"))  # aux files stay out of the run folder
    out = tmp_path / "ablate-tiny"
    _write_ablation(out, gt)
    write_ablation_report(out, pdf=True)
    assert (out / "ablation.pdf").is_file()
    for tex in [*run.glob("*.tex"), *out.glob("*.tex")]:
        _check_tex(tex)
        _compile(tex, tmp_path)


def test_cli_pdf_without_pdflatex_is_a_clear_error(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    run = tmp_path / "run"
    _write_run(run, {"bytetrack": 0.5, "finetrack": 0.55}, gt)
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": str(tmp_path), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", "report", str(run), "--pdf"],
                          capture_output=True, text=True, env=env)  # PATH without pdflatex
    assert proc.returncode == 2 and "--pdf needs pdflatex on PATH" in proc.stderr
    assert "Traceback" not in proc.stderr and not (run / "report.md").exists()
    gt.rmdir()  # the suite is gone: the report renders from the stored tables
    proc = bench("report", str(run), check=False)
    assert proc.returncode == 0, proc.stderr
    assert "| [0, .25)" in (run / "report.md").read_text()
    assert (run / "report.md").is_file() and (run / "report.tex").read_text().isascii()


def test_plots_fit_axes_to_data_and_mark_zero(tmp_path, monkeypatch):
    from bench.present import plots

    figs = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figs.append(fig) or path)
    metrics = pd.DataFrame([{"seq": s, "tracker": t, **{c: v for c in COLS[:5]}} for s in [*SEQS, "COMBINED"]
                            for t, v in (("bytetrack", 0.55), ("finetrack", 0.57))])
    plots.plot_metrics(metrics, tmp_path)
    for fig in figs:
        for ax in fig.axes:
            lo, hi = ax.get_ylim()
            assert 50 < lo < 55 and 57 < hi < 62, (lo, hi)  # a 2-point difference fills the axis; no bars from 0
    comps = pd.DataFrame({"a": ["f", "f"], "b": ["b", "b"], "metric": ["HOTA", "IDs"], "delta": [2.0, -3.0],
                          "lo": [1.0, -5.0], "hi": [3.0, -1.0]})
    plots.forest_plot(comps, tmp_path / "forest.png", "t")
    for ax in figs[-1].axes:
        assert any(list(line.get_xdata()) == [0, 0] for line in ax.get_lines())  # the zero line
        assert ax.get_xlim()[0] <= 0 <= ax.get_xlim()[1]  # 0 in view even when the whole interval is on one side
    tables = _breakdown_tables(["a", "b"])
    plots.plot_breakdown(tables[VisibilityBins.name].combined, VisibilityBins(), tmp_path / "v.png")
    plots.plot_breakdown(tables[Relink.name].combined, Relink(), tmp_path / "r.png")
    recall_ax, relink_ax = figs[-2].axes[0], figs[-1].axes[0]
    assert recall_ax.get_ylim()[0] > 30 and relink_ax.get_ylim()[0] > 10
    assert [t.get_text() for t in relink_ax.get_legend().get_texts()] == ["a", "b"]  # one line per tracker


def test_a_cpu_run_with_bf16_models_says_so_in_text_and_captions(tmp_path):
    """A CPU with bf16 arithmetic trains and embeds in bf16 by default: the report's text, the model's line and
    the LaTeX captions say it; an fp32 model on the same CPU leaves them as they were."""
    (tmp_path / "gt").mkdir()
    for precision in ("bf16", "fp32"):
        run = tmp_path / precision
        _write_run(run, {"bytetrack": 0.50, "deepsort": 0.55}, tmp_path / "gt")
        manifest = json.loads((run / "manifest.json").read_text())
        manifest["reid"] = {"deepsort": {
            "model_config": {"name": "global", "layout": "resnet18", "width": 0.25, "input_size": [128, 64]},
            "train_crops": 100, "train_seconds": 40.0, "metrics": {"mAP": 0.5, "rank1": 0.7},
            "path": "cache/reid/global-x-s0.pt", "train_config": {"precision": "auto"},
            "precision": precision, "embedding_precision": precision,
            "arithmetic": {"cpu_kernels": "AVX512", "threads": 2}}}
        (run / "manifest.json").write_text(json.dumps(manifest))
        write_report(run)
        md, tex = (run / "report.md").read_text(), (run / "report.tex").read_text()
        assert "trained on 100 crops in 40 s with 2 CPU threads (AVX512 kernels)" in md
        bf16 = precision == "bf16"
        assert ("The Re-ID models of deepsort ran in bf16 mixed precision on this CPU" in md) == bf16
        assert ("in bf16 mixed precision (embedded in bf16)" in md) == bf16
        assert ("bf16 Re-ID" in tex) == bf16 and "CUDA" not in tex


def test_the_model_line_says_what_the_weights_depend_on_where_it_was_recorded():
    """The CPU's kernels and threads or the GPU change the trained weights (README, across machines); checkpoints
    written before they were recorded say nothing rather than a guess."""
    assert _arithmetic_note({"arithmetic": {"cpu_kernels": "AVX2", "threads": 1}}) == " with 1 CPU thread (AVX2 kernels)"
    assert _arithmetic_note({"arithmetic": {"gpu": "NVIDIA H100 80GB HBM3"}}) == " on NVIDIA H100 80GB HBM3"
    assert _arithmetic_note({}) == _arithmetic_note({"arithmetic": None}) == ""


def test_a_cuda_run_says_its_numbers_are_not_comparable_with_cpu_runs(tmp_path):
    (tmp_path / "gt").mkdir()
    for device in ("cpu", "cuda"):
        run = tmp_path / device
        _write_run(run, {"bytetrack": 0.50, "finetrack": 0.55}, tmp_path / "gt", device=device)
        write_report(run)
        md = (run / "report.md").read_text()
        assert (f"device `{device}`" in md) and (("bf16 mixed precision" in md) == (device == "cuda"))
    assert "CUDA (bf16 Re-ID)" in (tmp_path / "cuda" / "report.tex").read_text()
    assert "bf16" not in (tmp_path / "cpu" / "report.tex").read_text()


def test_occlusion_bold_marks_the_best_tracker_within_each_bin():
    tables = _breakdown_tables(["a", "b", "c"])
    vis_txt, vis_bold = breakdown_table(VisibilityBins(), tables[VisibilityBins.name].combined)
    rel_txt, rel_bold = breakdown_table(Relink(), tables[Relink.name].combined)
    # rows grouped by bin, in bin order, so a bin's trackers stand together
    assert vis_txt["bin"].tolist() == [b for b in BINS for _ in range(3)]
    assert rel_txt["gap"].tolist() == [g for g in GAPS for _ in range(3)]
    for b in BINS:  # recall rises with the bin: the column's best is in the last bin, yet each bin has its own
        block = vis_bold[vis_txt["bin"] == b]
        assert block["recall"].tolist() == [False, False, True]  # tracker c matches one more box in every bin
        assert block["ID consistency"].tolist() == [False, False, True]
        assert block["IDsw/100"].tolist() == [False, False, True]  # same switches, more matched: fewer per 100
    assert not vis_bold[["bin", "tracker", "gt boxes", "matched"]].any().any()


def test_ablation_report_rebuilds_occlusion_claims_from_stored_counts(tmp_path):
    # the kept example folders have no result files: the per-sequence counts alone give the occlusion section,
    # with a Δ per bin, its interval, n and verdict, and the sentence on where the difference is
    from tests.test_occlusion_stats import _counts

    out = tmp_path / "ablate-tiny"
    _write_ablation(out, tmp_path / "gone", seqs=[f"S{i}" for i in range(10)])
    for txt in out.glob("*/*/*.txt"):
        txt.unlink()
    rng = np.random.default_rng(2)  # a seeded draw in which the null pair has no chance call (5% of draws do)
    better = {"consistency": {"[.25, .5)": 0.95}, "recall": 0.6, "relink": 0.7}
    same = {"consistency": {}, "recall": 0.6, "relink": 0.7}
    counts = _counts(rng, {"bytetrack/s0": same, "full/s0": same, "full/s1": same, "stripes/s0": better,
                           "stripes/s1": better})
    for b in (VisibilityBins(), Relink()):  # stored as `bench ablate` pools them: entry in tracker, run key in run
        rows = counts[counts["kind"] == ("visibility" if b.name == VisibilityBins.name else "gap")]
        per_seq = rows.rename(columns={"bin": b.key}).assign(run=rows["tracker"],
                                                             tracker=rows["tracker"].str.split("/s").str[0])
        per_seq = per_seq[["tracker", "run", "seq", b.key, *b.counts]]
        record.write_breakdown(out, b.name, record.BreakdownTables(per_seq, b.combine_sequences(per_seq)))
    write_ablation_report(out, published=False)
    md = (out / "ablation.md").read_text()
    occ = md.split("## Occlusion")[1]
    assert "Not analysed" not in occ and "### Where is the difference?" in occ
    assert "**stripes vs full**: the difference is in ID consistency better at visibility [.25, .5)" in occ
    assert "**full vs bytetrack**: no detectable difference" in occ
    sig = pd.read_csv(out / "occlusion_significance.csv")
    assert set(zip(sig["a"], sig["b"])) == {("stripes", "full"), ("full", "bytetrack")}
    # two seeds per variant: the method's question leads, each seed's rates kept apart
    assert set(sig["level"]) == {"method", "model"}
    assert occ.index("The method, retrained: the same bins") < occ.index("Is an occlusion difference real?")
    hit = sig[(sig["a"] == "stripes") & (sig["bin"] == "[.25, .5)") & (sig["metric"] == "ID consistency")]
    method, model = (hit[hit["level"] == lv].iloc[0] for lv in ("method", "model"))
    assert method["n"] == 10 and method["delta"] == pytest.approx(model["delta"], abs=1) and method["delta"] > 10
    assert method["hi"] - method["lo"] > model["hi"] - model["lo"]  # 2 seeds: 1 df for the seed term
    assert pd.read_csv(out / "occlusion_relink.csv")["tracker"].tolist()[:1] == ["bytetrack"]
