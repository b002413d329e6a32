"""The CLI as a user runs it: real files in, files and one-line errors out."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
SEQS = ["ADL-Rundle-6", "ETH-Pedcross2", "KITTI-17", "PETS09-S2L1", "TUD-Campus"]


def bench(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", "from bench.cli import main; main()", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                                                              "COLUMNS": "200"})
    if check and proc.returncode != 0:
        raise AssertionError(f"bench {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _rows_by_track(path: Path) -> tuple[dict[int, set[str]], set[tuple[int, str]]]:
    """Group result lines into tracks (by id) of 'frame,x,y,w,h,score' strings; also the set of boxes."""
    tracks: dict[int, set[str]] = defaultdict(set)
    boxes = set()
    for line in path.read_text().splitlines():
        f = line.split(",")
        key = ",".join([f[0], *f[2:7]])
        tracks[int(f[1])].add(key)
        boxes.add((int(f[0]), key))
    return tracks, boxes


def test_track_reproduces_bytetrack_reference_files(tmp_path, mot_data):
    dets = [str(mot_data / "mot15-dets" / s / "det" / "det.txt") for s in SEQS]
    bench("track", *dets, "--tracker", "bytetrack", "--out", str(tmp_path))
    for seq in SEQS:
        ours, our_boxes = _rows_by_track(tmp_path / f"{seq}.txt")
        ref, ref_boxes = _rows_by_track(mot_data / "bytetrack-reference" / f"{seq}.txt")
        assert our_boxes == ref_boxes, seq
        # same partition of boxes into tracks (ids may be numbered differently)
        assert sorted(map(sorted, ours.values())) == sorted(map(sorted, ref.values())), seq


def test_eval_reproduces_motmetrics_tud(tmp_path, mot_data):
    gt_root, res = tmp_path / "gt", tmp_path / "res"
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        (gt_root / seq / "gt").mkdir(parents=True)
        shutil.copy(mot_data / "motmetrics-tud" / seq / "gt.txt", gt_root / seq / "gt" / "gt.txt")
        res.mkdir(exist_ok=True)
        shutil.copy(mot_data / "motmetrics-tud" / seq / "test.txt", res / f"{seq}.txt")
    out = tmp_path / "m.json"
    proc = bench("eval", str(res), "--gt", str(gt_root), "--benchmark", "MOT15", "--json", str(out))
    assert "disagreement" not in proc.stderr
    data = json.loads(out.read_text())
    campus = data["metrics"]["TUD-Campus"]  # py-motmetrics' published values
    assert campus["MOTA"] == pytest.approx(0.526462, abs=1e-3)
    assert campus["IDF1"] == pytest.approx(0.557659, abs=1e-3)
    assert data["metrics"]["COMBINED"]["IDF1"] == pytest.approx(0.624296, abs=1e-3)


def test_bad_input_is_one_line_without_traceback(tmp_path):
    seq = tmp_path / "SEQ" / "det"
    seq.mkdir(parents=True)
    (seq / "det.txt").write_text("1,-1,10,10,20,40,0.9,-1,-1,-1\n2,-1,10,10,nan,40,0.9,-1,-1,-1\n")
    proc = bench("track", str(seq / "det.txt"), "--out", str(tmp_path / "out"), check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{seq / 'det.txt'}:2:" in proc.stderr.replace("\n", "")
    assert not (tmp_path / "out" / "SEQ.txt").exists()


def test_unknown_config_key_is_named(tmp_path):
    (tmp_path / "bench.toml").write_text("[run]\nsute = 'synth'\n")
    proc = bench("cache", "ls", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "run.sute" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_mot17_names_where_to_put_it(tmp_path):
    (tmp_path / "bench.toml").write_text(f"[paths]\ncache = '{tmp_path / 'c'}'\n")
    proc = bench("run", "--suite", "mot17-val", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "BENCH_MOT17" in proc.stderr.replace("\n", "")
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_cache_ls_and_clear(tmp_path):
    from tests.test_suites import make_mot17_tree

    make_mot17_tree(tmp_path / "MOT17")
    (tmp_path / "bench.toml").write_text(f"[paths]\ncache = '{tmp_path / 'c'}'\nresults = '{tmp_path / 'r'}'\n"
                                         "[run]\ntrackers = ['bytetrack']\njobs = 1\n")
    bench("run", "--suite", str(tmp_path / "MOT17" / "train"), "--no-report", cwd=tmp_path)
    listing = bench("cache", "ls", cwd=tmp_path).stdout
    assert "8 entries" in listing and "MOT17-02-FRCNN" in listing and "public" in listing  # detections + tracks
    assert "tracks:bytetrack" in listing
    assert "removed 4 entries" in bench("cache", "clear", "--kind", "detections", cwd=tmp_path).stdout
    assert "removed 4 entries" in bench("cache", "clear", "--kind", "tracks", cwd=tmp_path).stdout
    assert "0 entries" in bench("cache", "ls", cwd=tmp_path).stdout


@pytest.mark.parametrize("run_id", ["../victim", "/ABS", "a/b", "..", ".hidden", "example", "x y"])
def test_run_id_is_a_plain_name_and_nothing_outside_results_is_touched(tmp_path, run_id):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "bench.toml").write_text(f"[paths]\ncache = '{tmp_path / 'c'}'\n")
    run_id = str(tmp_path / "victim") if run_id == "/ABS" else run_id
    proc = bench("run", "--run-id", run_id, "--no-report", cwd=tmp_path / "work", check=False)
    assert proc.returncode == 2 and "not a plain name" in proc.stderr and "Traceback" not in proc.stderr
    assert (victim / "keep.txt").read_text() == "keep"
    assert not (tmp_path / "c").exists()  # failed before any work


def test_existing_run_folder_is_an_error_naming_it(tmp_path):
    done = tmp_path / "results" / "done"
    done.mkdir(parents=True)
    (done / "metrics.csv").write_text("x")
    (tmp_path / "bench.toml").write_text(f"[paths]\ncache = '{tmp_path / 'c'}'\n")
    proc = bench("run", "--run-id", "done", "--no-report", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "already exists" in proc.stderr and str(done) in proc.stderr.replace("\n", "")
    assert (done / "metrics.csv").read_text() == "x"
