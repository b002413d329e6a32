"""Interrupted and killed runs: workers stop, temp folders go, exit 130; left-over temp folders are cleaned up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.core.fsutil import atomic_dir, remove_stale_temp
from bench.data.mot_io import SeqInfo, write_seqinfo
from bench.core.record import latest_run

ROOT = Path(__file__).resolve().parents[1]
MAIN = "from tests import registry_trackers as t; t.register_slow(); from bench.cli import main; main()"


def make_suite(root: Path, n: int = 6, frames: int = 40) -> Path:
    for i in range(n):
        d = root / f"SEQ-{i:02d}"
        (d / "gt").mkdir(parents=True)
        (d / "det").mkdir()
        write_seqinfo(d, SeqInfo(name=d.name, length=frames, width=200, height=200, fps=30))
        (d / "gt" / "gt.txt").write_text("".join(f"{f},1,{10 + f},10,20,40,1,1,1.0\n" for f in range(1, frames + 1)))
        (d / "det" / "det.txt").write_text(
            "".join(f"{f},-1,{10 + f},10,20,40,0.9,-1,-1,-1\n" for f in range(1, frames + 1))
        )
    return root


def _as_in_a_terminal() -> None:
    """A shell's background job (e.g. a CI runner's) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt: give the run the default disposition a user's terminal gives it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    "sig, group, backend",
    [(signal.SIGINT, False, "loky"), (signal.SIGTERM, False, "loky"), (signal.SIGINT, True, "loky"),
     (signal.SIGTERM, False, "dask"), (signal.SIGINT, True, "dask")],
)
def test_interrupt_stops_workers_removes_temp_and_exits_130(tmp_path, sig, group, backend):
    """SIGINT to the run, SIGTERM to the run, and Ctrl-C in a terminal (SIGINT to the whole process group), with
    loky's workers and with a Dask LocalCluster's."""
    suite = make_suite(tmp_path / "suite", n=12)  # 12 × 40 frames × 0.1 s on 2 workers: ~24 s, never done first
    results = tmp_path / "results"
    (tmp_path / "bench.toml").write_text(f"[paths]\ncache = '{tmp_path / 'c'}'\nresults = '{results}'\n")
    cmd = [sys.executable, "-c", MAIN, "run", "--suite", str(suite), "--trackers", "slowiou", "--jobs", "2",
           "--set", "trackers.slowiou.delay=0.1", "--run-id", "slow", "--no-report", "--backend", backend]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=group,
                            preexec_fn=_as_in_a_terminal)
    deadline = time.time() + 120
    workers: list[psutil.Process] = []
    while time.time() < deadline and proc.poll() is None:  # wait until tracking runs in worker processes
        tracked = list((tmp_path / "c" / "tracks").glob("*.parquet"))  # a job finished: workers are tracking
        if tracked and results.is_dir() and any(p.name.startswith(".slow.") for p in results.iterdir()):
            workers = psutil.Process(proc.pid).children(recursive=True)
            if len(workers) >= 2:
                break
        time.sleep(0.1)
    assert proc.poll() is None and workers, "the run ended before it could be interrupted"
    time.sleep(1.0)
    workers = psutil.Process(proc.pid).children(recursive=True)
    t0 = time.time()
    os.killpg(proc.pid, sig) if group else proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=90)
    assert time.time() - t0 < 30  # seconds, not the minutes-long hang of before (generous for a loaded 2-core CI)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    if not group:  # a terminal's Ctrl-C also reaches the workers, which may print their own tracebacks
        assert "Traceback" not in stderr
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert not results.is_dir() or not list(results.iterdir())  # neither the run nor its temp folder


def test_temp_folder_of_a_dead_process_is_removed_and_never_a_result(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".run.pid{dead.pid}.abc123.tmp"
    live = tmp_path / f".other.pid{os.getpid()}.def456.tmp"
    remote = tmp_path / f".unit.pid{dead.pid}@another-host.ghi789.tmp"  # a Dask worker's on another machine
    for d in (stale, live, remote):
        d.mkdir()
        (d / "manifest.json").write_text("{}")
    assert latest_run(tmp_path) is None  # a temp folder is never counted as a result
    assert remove_stale_temp(tmp_path) == [stale]
    assert not stale.exists() and live.exists()  # a running process's folder is left alone
    assert remote.exists()  # its pid means nothing here
    with atomic_dir(tmp_path / "mine") as tmp:  # this host's own folders carry its name and are cleaned up
        assert "@" in tmp.name and remove_stale_temp(tmp_path) == []


def test_existing_folder_is_never_replaced(tmp_path):
    from bench.core.errors import BenchError

    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "keep.txt").write_text("x")
    with pytest.raises(BenchError, match="already exists"):
        with atomic_dir(tmp_path / "done", replace=False):
            pass
    with pytest.raises(BenchError, match="already exists"):  # appeared while the block ran
        with atomic_dir(tmp_path / "late", replace=False) as tmp:
            (tmp / "a").write_text("a")
            (tmp_path / "late").mkdir()
    assert (tmp_path / "done" / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done", "late"]


def test_killed_run_reruns_only_unfinished_jobs_with_fresh_results(tmp_path):
    """SIGKILL halfway through tracking; the same command again tracks only the jobs that had not finished (their
    results are cached by content key) and writes the files a fresh run writes."""
    suite = make_suite(tmp_path / "suite")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}

    def cmd(run_id: str, cache: str) -> list[str]:
        return [sys.executable, "-c", MAIN, "run", "--config", str(tmp_path / f"{cache}.toml"), "--suite", str(suite),
                "--trackers", "slowiou", "--jobs", "2", "--set", "trackers.slowiou.delay=0.02", "--run-id", run_id,
                "--no-report"]

    for name in ("c", "fresh"):
        (tmp_path / f"{name}.toml").write_text(f"[paths]\ncache = '{tmp_path / name}'\nresults = '{tmp_path / 'r'}'\n")
    proc = subprocess.Popen(cmd("slow", "c"), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    tracks = tmp_path / "c" / "tracks"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(list(tracks.glob("*.json"))) < 3:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    done = len(list(tracks.glob("*.json")))
    assert 3 <= done < 6, "the run was not killed halfway"
    assert not (tmp_path / "r" / "slow").exists()
    subprocess.run(cmd("slow", "c"), cwd=tmp_path, env=env, check=True, capture_output=True)
    subprocess.run(cmd("fresh", "fresh"), cwd=tmp_path, env=env, check=True, capture_output=True)
    slow, fresh = tmp_path / "r" / "slow", tmp_path / "r" / "fresh"
    manifest = json.loads((slow / "manifest.json").read_text())
    assert manifest["timings"]["tracks"] == {"cache_hits": done, "jobs": 6}
    for f in sorted((fresh / "slowiou").glob("*.txt")):
        assert f.read_bytes() == (slow / "slowiou" / f.name).read_bytes()
    assert len(list((slow / "slowiou").glob("*.txt"))) == 6
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["fresh", "slow"]  # the killed run's temp is gone
