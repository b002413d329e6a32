"""`bench run` end to end on a tiny synthetic suite: files, manifest, caches, atomicity, reproducibility."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bench.core.config import load_config
from bench.present.report import write_report
from bench.core.record import RunRecord, latest_run
from bench.evaluate.breakdowns.visibility import VIS_BINS
from bench.commands.run import run_suite
from bench.data.suites import load_suite

TINY = ["synth.frames=40", "synth.num_train=1", "synth.num_val=2", "synth.people=6", "run.jobs=1"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    cfg = load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'"])
    return cfg, load_suite("synth", cfg)


def test_run_writes_results_manifest_metrics_and_report(tiny):
    cfg, suite = tiny
    result = run_suite(cfg, suite, ["bytetrack"], run_id="first")
    run_dir = result.run_dir
    val = [s.name for s in suite.split("val")]
    assert sorted(p.stem for p in (run_dir / "bytetrack").glob("*.txt")) == sorted(val)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config_hash"] == cfg.hash()
    assert manifest["suite"]["sequences"] == val
    assert manifest["timings"]["detections"]["cache_hits"] == 0
    assert set(manifest["packages"]) >= {"trackeval", "motmetrics", "numpy"}
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert set(metrics["seq"]) == set(val) | {"COMBINED"}
    combined = metrics[metrics["seq"] == "COMBINED"].iloc[0]
    assert 0.2 < combined["HOTA"] <= 1 and 0 < combined["IDF1"] <= 1 and combined["FPS"] > 0
    check = pd.read_csv(run_dir / "crosscheck.csv")
    assert check["agree"].all()
    # the breakdowns are computed in the evaluation stage and stored per sequence and combined
    stored = RunRecord.load(run_dir)
    assert stored.manifest == result.manifest and stored.manifest.breakdowns == {"occlusion_visibility": "",
                                                                               "occlusion_relink": ""}
    vis = stored.breakdowns["occlusion_visibility"]
    assert vis.per_seq["seq"].unique().tolist() == val and vis.combined["bin"].tolist() == list(VIS_BINS)
    counts = vis.per_seq.groupby("bin", sort=False)[["gt_boxes", "matched", "id_switches"]].sum()
    assert (counts.to_numpy() == vis.combined[["gt_boxes", "matched", "id_switches"]].to_numpy()).all()
    assert (vis.combined["recall"] == vis.combined["matched"] / vis.combined["gt_boxes"]).all()
    mm = check[check["seq"] == "COMBINED"].iloc[0]  # the totals are motmetrics' (see bench.evaluate.occlusion)
    assert counts["gt_boxes"].sum() - counts["matched"].sum() == mm["FN_motmetrics"]
    assert counts["id_switches"].sum() == mm["IDs_motmetrics"]
    paths = write_report(run_dir)
    md = (run_dir / "report.md").read_text()
    assert "bytetrack" in md and "HOTA" in md and all(p.exists() for p in paths)
    assert "\\toprule" in (run_dir / "report.tex").read_text()
    assert latest_run(cfg.results_dir) == run_dir


def test_second_run_reuses_cache_and_reproduces(tiny):
    cfg, suite = tiny
    a = run_suite(cfg, suite, ["bytetrack"], run_id="a").run_dir
    b = run_suite(cfg, suite, ["bytetrack"], run_id="b").run_dir
    manifest = json.loads((b / "manifest.json").read_text())
    assert manifest["timings"]["detections"]["cache_hits"] == len(suite.split("val"))
    for f in (a / "bytetrack").glob("*.txt"):
        assert f.read_text() == (b / "bytetrack" / f.name).read_text()


def test_failed_run_leaves_nothing(tiny, monkeypatch):
    cfg, suite = tiny

    def boom(*args, **kwargs):
        raise RuntimeError("evaluation crashed")

    monkeypatch.setattr("bench.evaluate.stage.evaluate", boom)
    with pytest.raises(RuntimeError):
        run_suite(cfg, suite, ["bytetrack"], run_id="broken")
    assert not (cfg.results_dir / "broken").exists()
    assert not [p for p in cfg.results_dir.iterdir() if p.name.startswith(".broken")]


def test_changed_tracker_parameter_changes_config_hash_not_detection_cache(tiny):
    cfg, suite = tiny
    other = load_config(None, TINY + [f"paths.cache='{cfg.cache_dir}'", f"paths.results='{cfg.results_dir}'",
                                      "trackers.bytetrack.track_thresh=0.5"])
    run_dir = run_suite(other, suite, ["bytetrack"], run_id="other").run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config_hash"] != cfg.hash()
    assert manifest["timings"]["detections"]["cache_hits"] == len(suite.split("val"))


def test_empty_sequence_is_scored_not_crashed(tmp_path):
    """A sequence with no gt and no detections (all frames empty) is normal input."""
    from bench.data.mot_io import SeqInfo, write_seqinfo

    for name in ("EMPTY-01", "ONE-01"):
        d = tmp_path / "suite" / name
        (d / "gt").mkdir(parents=True)
        (d / "det").mkdir()
        write_seqinfo(d, SeqInfo(name=name, length=5, width=100, height=100, fps=30))
        (d / "gt" / "gt.txt").write_text("" if name == "EMPTY-01" else
                                         "".join(f"{f},1,10,10,20,40,1,1,1.0\n" for f in range(1, 6)))
        (d / "det" / "det.txt").write_text("" if name == "EMPTY-01" else
                                           "".join(f"{f},-1,10,10,20,40,0.9,-1,-1,-1\n" for f in range(1, 6)))
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", f"paths.results='{tmp_path / 'results'}'",
                             "run.jobs=1"])
    run_dir = run_suite(cfg, load_suite(str(tmp_path / "suite"), cfg), ["bytetrack"], run_id="r").run_dir
    assert (run_dir / "bytetrack" / "EMPTY-01.txt").read_text() == ""
    metrics = pd.read_csv(run_dir / "metrics.csv").set_index("seq")
    assert metrics.loc["ONE-01", "MOTA"] == pytest.approx(1.0)


def test_appearance_trackers_train_once_and_reuse_embeddings(tmp_path):
    import torch

    torch.set_num_threads(1)
    small = []
    for t in ("deepsort", "finetrack"):
        small += [f"reid.{t}.model.width=0.125", f"reid.{t}.model.input_size=[32, 16]", f"reid.{t}.train.epochs=1",
                  f"reid.{t}.train.p=4", f"reid.{t}.train.k=2", f"reid.{t}.train.frame_stride=3"]
    cfg = load_config(None, TINY + small + ["reid.finetrack.model.k=2", f"paths.cache='{tmp_path / 'c'}'",
                                            f"paths.results='{tmp_path / 'r'}'"])
    suite = load_suite("synth", cfg)
    trackers = ["bytetrack", "deepsort", "finetrack"]
    first = json.loads((run_suite(cfg, suite, trackers, run_id="one").run_dir / "manifest.json").read_text())
    assert set(first["reid"]) == {"deepsort", "finetrack"}
    assert first["reid"]["deepsort"]["model_config"]["name"] == "global"
    assert first["reid"]["finetrack"]["model_config"]["name"] == "finetrack"
    assert first["timings"]["reid"]["finetrack"]["cache_hits"] == 0
    second = json.loads((run_suite(cfg, suite, trackers, run_id="two").run_dir / "manifest.json").read_text())
    for t in ("deepsort", "finetrack"):
        assert second["reid"][t]["sha256"] == first["reid"][t]["sha256"]  # not retrained
        assert second["timings"]["reid"][t]["cache_hits"] == len(suite.split("val"))
    metrics = pd.read_csv(cfg.results_dir / "two" / "metrics.csv")
    assert set(metrics["tracker"]) == set(trackers)
    for t in trackers:
        a = (cfg.results_dir / "one" / t).glob("*.txt")
        for f in a:
            assert f.read_text() == (cfg.results_dir / "two" / t / f.name).read_text()


def test_test_split_is_tracked_and_written_but_scored_only_with_gt(tmp_path):
    """train/ + val/ + test/: val is evaluated into metrics.csv; test results go to test/<tracker>/ and are scored
    (test/metrics.csv) only when every test sequence has gt."""
    from tests.test_suites import make_seq

    root = tmp_path / "data"
    make_seq(root / "train" / "TR-01")
    make_seq(root / "val" / "VA-01")
    make_seq(root / "test" / "TE-01", gt=False)
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", f"paths.results='{tmp_path / 'results'}'",
                             "run.jobs=1"])
    result = run_suite(cfg, load_suite(str(root), cfg), ["bytetrack"], run_id="nogt")
    assert set(result.metrics["seq"]) == {"VA-01", "COMBINED"}
    assert (result.run_dir / "test" / "bytetrack" / "TE-01.txt").read_text().strip()  # tracked, written
    assert not (result.run_dir / "test" / "metrics.csv").exists()
    assert result.manifest.suite.test_sequences == ["TE-01"]

    (root / "test" / "TE-01" / "gt").mkdir()
    (root / "test" / "TE-01" / "gt" / "gt.txt").write_text((root / "val" / "VA-01" / "gt" / "gt.txt").read_text())
    scored = run_suite(cfg, load_suite(str(root), cfg), ["bytetrack"], run_id="gt")
    test_metrics = pd.read_csv(scored.run_dir / "test" / "metrics.csv").set_index("seq")
    val_mota = result.metrics.set_index("seq").loc["VA-01", "MOTA"]
    assert set(test_metrics.index) == {"TE-01", "COMBINED"} and test_metrics.loc["TE-01", "MOTA"] == val_mota  # same data
    assert scored.metrics.equals(result.metrics.assign(FPS=scored.metrics["FPS"]))  # val scores unchanged
