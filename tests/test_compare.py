"""`bench compare`: result folders of any tracker get `bench run`'s analysis; layouts other tools write work as is."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.commands.compare import compare_folders, parse_entries
from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.present.report import write_report
from bench.commands.run import run_suite
from bench.data.suites import load_suite
from tests import registry_trackers

ROOT = Path(__file__).resolve().parents[1]
TINY = ["synth.frames=40", "synth.num_train=1", "synth.num_val=3", "synth.people=6", "run.jobs=1"]


@pytest.fixture(scope="module")
def run_and_tracked(tmp_path_factory):
    """A `bench run` of ByteTrack and the IoU tracker, and the same trackers' files written by `bench track`."""
    from bench.cli import app

    root = tmp_path_factory.mktemp("compare")
    registry_trackers.register_all()
    try:
        cfg = load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'"])
        suite = load_suite("synth", cfg)
        run = run_suite(cfg, suite, ["bytetrack", "iou"], run_id="run")
        write_report(run.run_dir)
        dets = [str(s.det_path) for s in suite.split("val")]
        for tracker, out in (("bytetrack", root / "a" / "bytetrack"), ("iou", root / "b" / "iou")):
            res = CliRunner().invoke(app, ["track", *dets, "--tracker", tracker, "--out", str(out)])
            assert res.exit_code == 0, res.output
        yield cfg, suite, run.run_dir, root
    finally:
        registry_trackers.unregister_all()


def test_compare_of_bench_track_folders_equals_bench_run_analysis(run_and_tracked):
    cfg, suite, run_dir, root = run_and_tracked
    entries = parse_entries([str(root / "a" / "bytetrack"), str(root / "b" / "iou")])
    result = compare_folders(entries, suite.root, cfg.results_dir, run_id="cmp")
    write_report(result.run_dir)
    cmp_dir = result.run_dir
    ran = pd.read_csv(run_dir / "metrics.csv").drop(columns="FPS")
    pd.testing.assert_frame_equal(pd.read_csv(cmp_dir / "metrics.csv"), ran)
    pd.testing.assert_frame_equal(pd.read_csv(cmp_dir / "crosscheck.csv"), pd.read_csv(run_dir / "crosscheck.csv"))
    for name in ("significance.csv", "occlusion_visibility.csv", "occlusion_relink.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(cmp_dir / name), pd.read_csv(run_dir / name), check_exact=True)
    md = (cmp_dir / "report.md").read_text()
    assert "## Is the difference real?" in md and "## Occlusion" in md and "bench compare" in md
    for png in ("forest.png", "visibility.png", "relink.png", "metrics_per_tracker.png", "hota_per_sequence.png"):
        assert (cmp_dir / png).is_file()
    assert "\\toprule" in (cmp_dir / "report.tex").read_text()
    # the run's report sections in the same order (the compare report adds its note and has no FPS)
    heads = [line for line in (run_dir / "report.md").read_text().splitlines() if line.startswith("#")]
    assert [line for line in md.splitlines() if line.startswith("#")][1:] == heads[1:]


def test_other_tools_layouts_work_as_they_are(run_and_tracked, tmp_path):
    """TrackEval's <TRACKER>/data/<SEQ>.txt, stray files beside the results, NAME=DIR, another number format."""
    cfg, suite, run_dir, root = run_and_tracked
    te = tmp_path / "trackers" / "MOT17-train" / "MyTracker" / "data"
    te.mkdir(parents=True)
    for f in (run_dir / "iou").glob("*.txt"):
        rows = pd.read_csv(f, header=None)
        rows.to_csv(te / f.name, header=False, index=False, float_format="%.3f")  # another tool's number format
    (te.parent / "pedestrian_summary.txt").write_text("HOTA DetA\n1 2\n")  # TrackEval's own output beside data/
    other = tmp_path / "other"
    shutil.copytree(run_dir / "bytetrack", other)
    (other / "README.txt").write_text("not a sequence\n")
    entries = parse_entries([str(te.parent), f"byte={other}"])
    assert list(entries) == ["MyTracker", "byte"] and entries["MyTracker"] == te
    res = compare_folders(entries, suite.root, cfg.results_dir, run_id="layouts")
    m = res.metrics.set_index(["tracker", "seq"])
    ran = pd.read_csv(run_dir / "metrics.csv").set_index(["tracker", "seq"])
    assert m.loc[("MyTracker", "COMBINED"), "HOTA"] == pytest.approx(ran.loc[("iou", "COMBINED"), "HOTA"], abs=1e-3)
    assert m.loc[("byte", "COMBINED"), "HOTA"] == ran.loc[("bytetrack", "COMBINED"), "HOTA"]


def test_bad_inputs_are_one_clear_error(run_and_tracked, tmp_path):
    cfg, suite, run_dir, root = run_and_tracked
    partial = tmp_path / "partial"
    shutil.copytree(run_dir / "iou", partial)
    missing = sorted(partial.glob("*.txt"))[0]
    missing.unlink()
    with pytest.raises(BenchError, match=f"partial: no result file for 1 of 3 sequences: {missing.name}"):
        compare_folders(parse_entries([str(run_dir / "bytetrack"), str(partial)]), suite.root, cfg.results_dir)
    with pytest.raises(BenchError, match="two folders are named 'iou'"):
        parse_entries([str(run_dir / "iou"), str(root / "b" / "iou")])
    with pytest.raises(BenchError, match="results folder not found"):
        parse_entries([str(tmp_path / "nowhere")])
    proc = subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", "compare",
                           str(run_dir / "bytetrack"), str(partial), "--gt", str(suite.root)], cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert proc.returncode == 2 and "no result file for 1 of 3" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", "compare", str(partial),
                           "--gt", str(suite.root), "--seqs", ",".join(s.name for s in suite.split("val")
                                                                          if s.name != missing.stem), "--run-id",
                           "sub"], cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "results" / "sub" / "report.md").is_file()
