"""Files as other tools and editors write them, through the CLI: BOMs, scores on other scales, shared folders."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.test_cli import ROOT, bench

BOM = "\ufeff"
TUD = ROOT / "tests" / "data" / "mot15-dets" / "TUD-Campus" / "det" / "det.txt"


def _sequence(root: Path, bom: str = "", name: str = "SEQ") -> Path:
    """root/<name> with seqinfo.ini, det/det.txt (TUD-Campus' public detections) and a gt, each starting with `bom`."""
    seq = root / name
    (seq / "det").mkdir(parents=True)
    (seq / "gt").mkdir()
    (seq / "seqinfo.ini").write_text(bom + f"[Sequence]\nname={name}\nimDir=img1\nframeRate=25\nseqLength=71\n"
                                     "imWidth=640\nimHeight=480\nimExt=.jpg\n")
    (seq / "det" / "det.txt").write_text(bom + TUD.read_text())
    gt = "".join(f"{f},1,{100 + f},150,80,200,1,1,1.0\n{f},2,{400 - f},160,90,210,1,1,0.8\n" for f in range(1, 72))
    (seq / "gt" / "gt.txt").write_text(bom + gt)
    return seq


def test_bom_is_read_as_the_editor_meant_it_everywhere(tmp_path: Path) -> None:
    """det.txt, seqinfo.ini, gt, results, bench.toml and a params file written by a Windows editor (UTF-8 with a
    BOM) give the same results and metrics as without it."""
    outputs = {}
    for name, bom in (("plain", ""), ("withbom", BOM)):
        root = tmp_path / name
        seq = _sequence(root, bom)
        (root / "bench.toml").write_text(bom + "[trackers.bytetrack]\ntrack_thresh = 0.5\n")
        bench("track", str(seq / "det" / "det.txt"), "--out", str(root / "out"), "--config", str(root / "bench.toml"),
              cwd=root)
        result = root / "out" / "SEQ.txt"
        outputs[name] = result.read_text()
        (root / "res").mkdir()
        (root / "res" / "SEQ.txt").write_text(bom + outputs[name])
        outputs[name + " eval"] = bench("eval", str(root / "res"), "--gt", str(root), "--json",
                                        str(root / "m.json"), cwd=root).stdout
    assert outputs["plain"] and outputs["plain"] == outputs["withbom"]
    assert outputs["plain eval"].replace("plain", "X") == outputs["withbom eval"].replace("withbom", "X")
    assert (tmp_path / "plain" / "m.json").read_text().replace("plain", "X") == \
        (tmp_path / "withbom" / "m.json").read_text().replace("withbom", "X")


def test_params_file_and_ablation_toml_with_bom(tmp_path: Path) -> None:
    from bench.commands.tune import load_params
    from bench.core.config import read_toml

    p = tmp_path / "best.toml"
    p.write_text(BOM + "[trackers.bytetrack]\ntrack_thresh = 0.55\n")
    assert load_params(p) == {"trackers.bytetrack.track_thresh": 0.55}
    (tmp_path / "latin1.toml").write_bytes("name = 'Stra\xdfe'\n".encode("latin-1"))
    from bench.core.errors import BenchError

    with pytest.raises(BenchError, match="not UTF-8 text"):
        read_toml(tmp_path / "latin1.toml", "config file")


def test_scores_on_a_0_100_scale_warn_and_score_scale_rescales(tmp_path: Path) -> None:
    """MOT15-style scores ×100: one warning naming the file and the scale; `detections.score_scale=100` gives the
    0-1 file's tracks exactly, without a warning. Nothing is rescaled unasked."""
    plain = _sequence(tmp_path / "plain")
    scaled = _sequence(tmp_path / "scaled")
    rows = [line.split(",") for line in TUD.read_text().splitlines()]
    det = scaled / "det" / "det.txt"
    det.write_text("".join(",".join([*r[:6], f"{100 * float(r[6]):.4f}", *r[7:]]) + "\n" for r in rows))
    bench("track", str(plain / "det" / "det.txt"), "--out", str(tmp_path / "o1"), cwd=tmp_path)
    raw = bench("track", str(det), "--out", str(tmp_path / "o2"), cwd=tmp_path)
    fixed = bench("track", str(det), "--out", str(tmp_path / "o3"), "--set", "detections.score_scale=100",
                  cwd=tmp_path)
    warning = [line for line in raw.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and str(det) in warning[0] and "0-100 scale" in warning[0], raw.stderr
    assert "detections.score_scale=100" in warning[0]
    assert "warning" not in fixed.stderr
    reference = (tmp_path / "o1" / "SEQ.txt").read_text()
    assert (tmp_path / "o2" / "SEQ.txt").read_text() != reference  # unscaled: thresholds mean something else
    assert (tmp_path / "o3" / "SEQ.txt").read_text().replace(",1.00,", ",X,") == reference.replace(",1.00,", ",X,")


def test_scores_warning_in_bench_run(tmp_path: Path) -> None:
    seq = _sequence(tmp_path / "suite")
    det = seq / "det" / "det.txt"
    det.write_text(det.read_text().replace(",0.9", ",9"))  # a few scores 9.x: not 0-1
    proc = bench("run", "--suite", str(tmp_path / "suite"), "--trackers", "bytetrack", "--no-report",
                 "--set", f"paths.results='{tmp_path / 'results'}'", "--set", f"paths.cache='{tmp_path / 'cache'}'",
                 cwd=tmp_path)
    warning = [line for line in proc.stderr.splitlines() if "warning: detection scores" in line]
    assert len(warning) == 1 and str(det) in warning[0], proc.stderr


def _wrong_modes(root: Path, umask: int) -> dict[str, str]:
    """Paths under root (root included, hidden lock files left out) whose mode is not what `umask` gives."""
    wrong = {}
    for p in [root, *root.rglob("*")]:
        if p.name.startswith("."):
            continue
        expected = (0o777 if p.is_dir() else 0o666) & ~umask
        if stat.S_IMODE(p.stat().st_mode) != expected:
            wrong[str(p)] = f"{stat.S_IMODE(p.stat().st_mode):o}, expected {expected:o}"
    return wrong


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_honour_the_umask(tmp_path: Path, umask: int) -> None:
    """Results, manifest, reports, cache entries and run folders get what the umask allows (0644/0755 under 022),
    not tempfile's private 0600/0700: a lab's shared results folder stays readable to colleagues."""
    seq = _sequence(tmp_path / "suite")
    old = os.umask(umask)
    try:
        bench("run", "--suite", str(tmp_path / "suite"), "--trackers", "bytetrack", "--run-id", "r",
              "--set", f"paths.results='{tmp_path / 'results'}'", "--set", f"paths.cache='{tmp_path / 'cache'}'",
              cwd=tmp_path)
        bench("track", str(seq / "det" / "det.txt"), "--out", str(tmp_path / "out"), cwd=tmp_path)
    finally:
        os.umask(old)
    run = tmp_path / "results" / "r"
    assert (run / "manifest.json").is_file() and (run / "bytetrack" / "SEQ.txt").is_file()
    assert (run / "report.md").is_file() and any((tmp_path / "cache").rglob("*.parquet"))
    for root in (run, tmp_path / "out", tmp_path / "cache"):
        assert _wrong_modes(root, umask) == {}


# A suite folder: Unicode, emoji, Rich markup ("[/x]" across two folders), spaces and LaTeX specials.
NAMES = "[/x] Datensätze [final] 🚀 $~^%#&{}_"
PDFLATEX = shutil.which("pdflatex")


def test_any_name_works_end_to_end(tmp_path: Path) -> None:
    """bench run, bench report (markdown, ASCII LaTeX, --pdf) and bench compare on a suite, sequences and tracker
    folders named in German, Japanese, emoji and Rich markup: every command succeeds, every path is printed as it
    is, and the names reach the report (transliterated in LaTeX)."""
    suite = tmp_path / NAMES
    _sequence(suite, name="Straße-東京")
    _sequence(suite, name="SEQ [b]")
    results = tmp_path / "résultats [x]"
    common = ["--set", f"paths.results='{results}'", "--set", f"paths.cache='{tmp_path / 'cache'}'"]
    proc = bench("run", "--suite", str(suite), "--trackers", "bytetrack", "--run-id", "r", *common, cwd=tmp_path)
    run = results / "r"
    assert f"results: {run}" in proc.stdout and f"report: {run / 'report.md'}" in proc.stdout
    assert "cross-check: py-motmetrics agrees with TrackEval" in proc.stderr and str(run / "crosscheck.csv") in \
        proc.stderr
    md, tex = (run / "report.md").read_text(), (run / "report.tex").read_text()
    assert "Straße-東京" in md and suite.name in md
    assert tex.isascii() and "Stra{\\ss}e-{\\ttfamily U+6771}{\\ttfamily U+4EAC}" in tex
    assert "Datens\\\"{a}tze" in tex and "{\\ttfamily U+1F680}" in tex
    assert "{\\char36}\\textasciitilde{}\\textasciicircum{}\\%\\#\\&\\{\\}\\_" in tex

    tracker_a, tracker_b = tmp_path / "Tracker ü [x]", tmp_path / "東京 [/b]"
    shutil.copytree(run / "bytetrack", tracker_a)
    shutil.copytree(run / "bytetrack", tracker_b)
    (tmp_path / "bench.toml").write_text(f"[paths]\nresults = '{results}'\ncache = '{tmp_path / 'cache'}'\n")
    proc = bench("compare", str(tracker_a), str(tracker_b), "--gt", str(suite), cwd=tmp_path)
    (cmp,) = [p for p in results.iterdir() if p.name.startswith("compare-")]
    assert f"results: {cmp}" in proc.stdout and str(cmp / "crosscheck.csv") in proc.stderr
    assert (cmp / "Tracker ü [x]" / "SEQ [b].txt").is_file() and (cmp / "report.md").is_file()
    assert "東京 [/b]" in (cmp / "report.md").read_text() and (cmp / "report.tex").read_text().isascii()
    if PDFLATEX is None:  # .ci/run installs TeX Live, so CI compiles it
        pytest.skip("pdflatex not installed")
    for folder in (run, cmp):
        proc = bench("report", str(folder), "--pdf", cwd=tmp_path)
        assert str(folder / "report.pdf") in proc.stdout and "Warning" not in proc.stderr
        assert (folder / "report.pdf").read_bytes()[:4] == b"%PDF"
        assert not (folder / "missfont.log").exists()
