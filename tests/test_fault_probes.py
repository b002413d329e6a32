"""Issue 20's real-world faults, each through the CLI in a subprocess as a user would meet it: concurrent runs on one
cache, a full disk, SIGKILL and Ctrl-C, broken frames, wrong checkpoints, a dead or shrinking Dask cluster and
read-only folders. Every fault ends in the lone run's metrics or one error line (exit 2, naming the file or
setting, no traceback) with nothing half-written. Tests that mount need root and a kernel that allows it; they skip
otherwise."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from tests.test_faults import make_suite

ROOT = Path(__file__).resolve().parents[1]
ENV = {"PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
MAIN = "from bench.cli import main; main()"
SLOW_MAIN = "from tests import registry_trackers as t; t.register_slow(); from bench.cli import main; main()"
SYNTH = {"frames": 30, "num_train": 1, "num_val": 1, "people": 8}
TINY_REID = """
[reid.deepsort.model]
width = 0.125
input_size = [32, 16]
[reid.deepsort.train]
epochs = {epochs}
p = 4
k = 2
frame_stride = 3
[reid.finetrack.model]
width = 0.125
input_size = [32, 16]
k = 2
[reid.finetrack.train]
epochs = 1
p = 4
k = 2
frame_stride = 3
"""
TRACKERS = "bytetrack,deepsort"  # a motion and an appearance tracker: every stage of a run, kept small


def write_config(folder: Path, cache: Path, results: Path, epochs: int = 1, jobs: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.toml"
    path.write_text(f"[paths]\ncache = '{cache}'\nresults = '{results}'\n[run]\ndevice = 'cpu'\njobs = {jobs}\n"
                    + TINY_REID.format(epochs=epochs))
    return path


def bench_cmd(config: Path, *args: str, main: str = MAIN) -> list[str]:
    return [sys.executable, "-c", main, *args[:1], "--config", str(config), *args[1:]]


def bench(config: Path, *args: str, timeout: float = 600, main: str = MAIN) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(config, *args, main=main), cwd=config.parent, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def scores(run_dir: Path) -> pd.DataFrame:
    """A run's metrics without the timing column (FPS differs from run to run)."""
    df = pd.read_csv(run_dir / "metrics.csv").drop(columns="FPS")
    return df.sort_values(["tracker", "seq"]).reset_index(drop=True)


def assert_one_error_line(proc: subprocess.CompletedProcess, *names: str) -> str:
    """Exit 2, no traceback, and the error is one line (the last) naming each of `names`."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and proc.stderr.strip().splitlines()[-1] == errors[0], proc.stderr
    for name in names:
        assert str(name) in errors[0], errors[0]
    return errors[0]


def assert_cache_intact(cache: Path) -> None:
    """Every cache entry matches its recorded digest and rows; no temp or lock file is left; every Re-ID checkpoint
    has its digest."""
    from bench.core.cache import ArrayCache
    from bench.appearance.checkpoints import cached_checkpoint_ok

    damaged: list[str] = []
    c = ArrayCache(cache, warn=damaged.append)
    for e in c.entries():
        assert c.get(e.kind, e.meta["key"], e.meta.get("label", "")) is not None
    assert not damaged, damaged
    for kind in ("detections", "embeddings", "tracks"):
        d = cache / kind
        if d.is_dir():
            assert sorted(p.stem for p in d.glob("*.parquet")) == sorted(p.stem for p in d.glob("*.json"))
    for pt in (cache / "reid").glob("*.pt") if (cache / "reid").is_dir() else []:
        assert cached_checkpoint_ok(pt), pt
    leftovers = [p for p in cache.rglob(".*") if p.name.endswith((".tmp", ".lock"))]
    assert not leftovers, leftovers


def run_folders(results: Path) -> list[str]:
    return sorted(p.name for p in results.iterdir()) if results.is_dir() else []


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    """The tiny synth suite as a plain folder suite (train/ and val/), outside every cache the tests use."""
    from bench.core.config import load_config
    from bench.data.suites import load_suite

    root = tmp_path_factory.mktemp("suite")
    cfg = load_config(None, [f"synth.{k}={v}" for k, v in SYNTH.items()] + [f"paths.cache='{root / 'gen'}'"])
    for seq in load_suite("synth", cfg).sequences:
        shutil.copytree(seq.path, root / "suite" / seq.split / seq.name)
    shutil.rmtree(root / "gen")
    return root / "suite"


@pytest.fixture(scope="module")
def lone(suite, tmp_path_factory) -> dict:
    """An uninterrupted cold run on its own cache: the metrics every faulty run must reproduce."""
    root = tmp_path_factory.mktemp("lone")
    cfg = write_config(root, root / "cache", root / "results")
    t0 = time.time()
    proc = bench(cfg, "run", "--suite", str(suite), "--trackers", TRACKERS, "--run-id", "lone", "--no-report")
    assert proc.returncode == 0, proc.stderr
    return {"scores": scores(root / "results" / "lone"), "seconds": time.time() - t0, "cache": root / "cache"}


def checkpoint_of(cache: Path, model: str) -> Path:
    (pt,) = (cache / "reid").glob(f"{model}-*.pt")
    return pt


# ---- concurrent runs -------------------------------------------------------------------------------------------


def test_two_runs_at_once_share_one_cache(suite, lone, tmp_path):
    """Both cold on one cache: the second waits on each entry's lock (detections, the Re-ID checkpoint, embeddings,
    tracks) and reads what the first wrote, so the checkpoint is trained once; both give the lone run's metrics and
    get distinct run folders, though they start in the same second with the same config."""
    cfg = write_config(tmp_path, tmp_path / "cache", tmp_path / "results")
    cmd = bench_cmd(cfg, "run", "--suite", str(suite), "--trackers", TRACKERS, "--no-report")
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    folders = run_folders(tmp_path / "results")
    assert len(folders) == 2, folders
    for f in folders:
        pd.testing.assert_frame_equal(scores(tmp_path / "results" / f), lone["scores"])
    trained = [err for _, err in outs if "Re-ID global: trained" in err]  # progress goes to stderr
    assert len(trained) == 1, "the checkpoint was trained twice"
    assert not any("damaged" in out + err for out, err in outs)
    assert len(list((tmp_path / "cache" / "reid").glob("*.pt"))) == 1
    assert_cache_intact(tmp_path / "cache")


@pytest.mark.slow
def test_same_ablation_started_twice(suite, tmp_path):
    """Two `bench ablate` on one ablation and cache: each (variant, seed) run is claimed by a lock on its folder, so
    the second waits and reuses it; both write the lone ablation's table."""
    abl = tmp_path / "two.toml"
    abl.write_text('[[variant]]\nname = "full"\n[[variant]]\nname = "iou"\n'
                   'set = { "trackers.finetrack.association" = "iou" }\n')
    lone_cfg = write_config(tmp_path / "lone", tmp_path / "lone" / "cache", tmp_path / "lone" / "results", jobs=1)
    cfg = write_config(tmp_path / "two", tmp_path / "two" / "cache", tmp_path / "two" / "results", jobs=1)
    args = ("ablate", str(abl), "--suite", str(suite), "--seeds", "1")
    procs = [subprocess.Popen(bench_cmd(cfg, *args), cwd=cfg.parent, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert bench(lone_cfg, *args).returncode == 0

    def table(results: Path) -> pd.DataFrame:
        (out,) = results.glob("ablate-*")
        return pd.read_csv(out / "ablation.csv").drop(columns="train_seconds")

    pd.testing.assert_frame_equal(table(tmp_path / "two" / "results"), table(tmp_path / "lone" / "results"))
    # both variants use one Re-ID model (only the association differs): trained once, not once per process
    assert sum(err.count("Re-ID finetrack: trained") for _, err in outs) == 1
    assert_cache_intact(tmp_path / "two" / "cache")


# ---- mounts: full disk, read-only folders ----------------------------------------------------------------------


@contextmanager
def mounted(target: Path, *options: str):
    """`mount -t tmpfs -o OPTIONS` on `target`, unmounted after; skips the test where mounting is not allowed."""
    target.mkdir(parents=True, exist_ok=True)
    opts = ",".join(options)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()})")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def remount(target: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(target)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """A filler file taking all but about `leave` bytes of the filesystem's free space."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        while shutil.disk_usage(folder).free > leave + len(chunk):
            f.write(chunk)
        f.flush()
        while shutil.disk_usage(folder).free > leave + 4096:
            f.write(b"\0" * 4096)
            f.flush()
    return filler


@pytest.mark.parametrize("fraction", [pytest.param(0.02, marks=pytest.mark.slow), 0.5,
                                      pytest.param(0.9, marks=pytest.mark.slow)])
def test_full_disk_is_one_error_and_the_same_command_then_succeeds(suite, lone, tmp_path, fraction):
    """Cache and results on a tmpfs with a fraction of what a cold run writes left free: one error naming the full
    folder, no run folder, no damaged cache entry; with the space freed the same command gives the lone metrics."""
    used = sum(p.stat().st_size for p in lone["cache"].rglob("*") if p.is_file())
    with mounted(tmp_path / "disk", "size=64m") as disk:
        cfg = write_config(tmp_path / "cfg", disk / "cache", disk / "results")
        filler = fill(disk, int(used * fraction))
        args = ("run", "--suite", str(suite), "--trackers", TRACKERS, "--run-id", "full")
        proc = bench(cfg, *args)
        line = assert_one_error_line(proc, "no space left on device")
        assert str(disk) in line
        assert run_folders(disk / "results") == []
        assert_cache_intact(disk / "cache")
        filler.unlink()
        proc = bench(cfg, *args)
        assert proc.returncode == 0, proc.stderr
        pd.testing.assert_frame_equal(scores(disk / "results" / "full"), lone["scores"])
        assert (disk / "results" / "full" / "report.md").is_file()
        assert_cache_intact(disk / "cache")


@pytest.mark.parametrize("which", ["results", "cache"])
def test_read_only_folder_is_one_error_before_any_work(suite, tmp_path, which):
    """A read-only mount (root ignores mode bits, so bench probes with a real write): one line naming the folder and
    its setting, before detections or training start."""
    with mounted(tmp_path / which, "size=4m"):
        remount(tmp_path / which, "ro")
        cfg = write_config(tmp_path / "cfg", tmp_path / "cache", tmp_path / "results")
        t0 = time.time()
        proc = bench(cfg, "run", "--suite", str(suite), "--trackers", TRACKERS)
        assert_one_error_line(proc, tmp_path / which, f"paths.{which}", "not writable")
        assert time.time() - t0 < 60
        other = tmp_path / ("cache" if which == "results" else "results")
        assert not other.exists() or not any(other.rglob("*.parquet"))  # no work was done


# ---- kills and Ctrl-C ------------------------------------------------------------------------------------------


def kill_and_rerun(suite: Path, lone: dict, folder: Path, kill_at: float, once: str | None = None) -> bool:
    """A cold run SIGKILLed (its whole process group: main process and workers) `kill_at` seconds in, or, with
    `once`, as soon as a file matching that glob appears in its cache (a point reached whatever the machine's speed;
    `kill_at` then bounds the wait); then the same command again: it completes with the lone run's metrics and
    leaves the cache intact."""
    cfg = write_config(folder, folder / "cache", folder / "results")
    cmd = bench_cmd(cfg, "run", "--suite", str(suite), "--trackers", TRACKERS, "--run-id", "k", "--no-report")
    proc = subprocess.Popen(cmd, cwd=folder, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        if once is not None:
            deadline = time.time() + kill_at
            while proc.poll() is None and time.time() < deadline and not list((folder / "cache").glob(once)):
                time.sleep(0.02)
        proc.wait(timeout=0 if once is not None else kill_at)  # finished first: nothing to rerun
        assert proc.returncode == 0
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    interrupted = not (folder / "results" / "k").exists()  # else killed after publishing: the run is complete
    if interrupted:
        rerun = subprocess.run(cmd, cwd=folder, env=ENV, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, f"killed at {kill_at:.1f} s: {rerun.stderr}"
    pd.testing.assert_frame_equal(scores(folder / "results" / "k"), lone["scores"])
    # a kill between publishing and exiting may leave the run's claim file (`.k.lock`, no longer locked by anyone):
    # the next run in this folder removes it
    assert [f for f in run_folders(folder / "results") if f != ".k.lock"] == ["k"]
    assert_cache_intact(folder / "cache")
    return interrupted


def kill_times(n: int, seconds: float) -> list[float]:
    """`n` seeded kill times spread over a cold run (detections, training, embedding, tracking, evaluation): one
    in each of `n` equal slices of its 10-90% span, so even two land in different stages."""
    rng = random.Random(20)
    return [(0.1 + 0.8 * (i + rng.random()) / n) * seconds for i in range(n)]


def test_sigkill_during_reid_training_then_rerun(suite, lone, tmp_path):
    """The fast stand-in for the twenty seeded kills below (`slow`, run by .ci/run), killed once the checkpoint's
    lock is taken (held from the cache check through training): mid-run on any machine, where a kill at a share of
    the lone run's time came after the end when the lone run had been the slower one. Tracking kills: test_faults.py."""
    assert kill_and_rerun(suite, lone, tmp_path, 300, once="reid/.*.lock"), "killed after the end"


@pytest.mark.slow
def test_sigkill_at_twenty_seeded_points_then_rerun(suite, lone, tmp_path):
    interrupted = [kill_and_rerun(suite, lone, tmp_path / str(i), t)
                   for i, t in enumerate(kill_times(20, lone["seconds"]))]
    assert sum(interrupted) >= 10, interrupted


def _as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_reid_training_exits_130_and_keeps_no_checkpoint(suite, tmp_path):
    cfg = write_config(tmp_path, tmp_path / "cache", tmp_path / "results", epochs=6)
    args = ("run", "--suite", str(suite), "--trackers", "deepsort", "--no-report")
    proc = subprocess.Popen(bench_cmd(cfg, *args), cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_as_in_a_terminal)
    reid = tmp_path / "cache" / "reid"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list(reid.glob(".*.lock")):
        time.sleep(0.05)  # the checkpoint's lock is held from the cache check through training
    time.sleep(1.0)
    assert proc.poll() is None and not list(reid.glob("*.pt")), "training ended before it could be interrupted"
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert time.time() - t0 < 10
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in stderr
    assert sorted(p.name for p in reid.iterdir()) == []  # no checkpoint, digest, temp or lock file
    assert run_folders(tmp_path / "results") == []
    again = bench(cfg, *args)
    assert again.returncode == 0, again.stderr
    assert "Re-ID global: trained" in again.stderr
    assert_cache_intact(tmp_path / "cache")


# ---- broken inputs ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def global_checkpoint(lone) -> Path:
    return checkpoint_of(lone["cache"], "global")


def _break(seq: Path, how: str, frame: int = 5) -> Path:
    from PIL import Image

    img = seq / "img1" / f"{frame:06d}.jpg"
    if how == "missing":
        img.unlink()
    elif how == "truncated":
        img.write_bytes(img.read_bytes()[:300])
    else:
        Image.new("RGB", (320, 180)).save(img)
    return img


@pytest.mark.parametrize("how", ["missing", "truncated", "resized"])
def test_broken_frame_is_an_error_naming_it_for_appearance_trackers(suite, global_checkpoint, tmp_path, how):
    """An appearance tracker stops with one line naming the image: crops of a missing, truncated or differently
    sized frame would silently change its embeddings and so its numbers."""
    broken = tmp_path / "suite"
    shutil.copytree(suite, broken)
    img = _break(broken / "val" / "SYNTH-VAL-01", how)
    cfg = write_config(tmp_path, tmp_path / "cache", tmp_path / "results")
    proc = bench(cfg, "run", "--suite", str(broken), "--trackers", "deepsort", "--reid", str(global_checkpoint))
    line = assert_one_error_line(proc, img)
    assert {"missing": "missing frame image", "truncated": "unreadable", "resized": "320x180"}[how] in line
    assert run_folders(tmp_path / "results") == []


def test_motion_tracker_is_unaffected_by_broken_frames(suite, lone, tmp_path):
    broken = tmp_path / "suite"
    shutil.copytree(suite, broken)
    _break(broken / "val" / "SYNTH-VAL-01", "missing", 5)
    _break(broken / "val" / "SYNTH-VAL-01", "truncated", 7)
    _break(broken / "train" / "SYNTH-TRAIN-01", "resized", 5)
    cfg = write_config(tmp_path, tmp_path / "cache", tmp_path / "results")
    proc = bench(cfg, "run", "--suite", str(broken), "--trackers", "bytetrack", "--run-id", "m", "--no-report")
    assert proc.returncode == 0, proc.stderr
    expected = lone["scores"][lone["scores"]["tracker"] == "bytetrack"].reset_index(drop=True)
    pd.testing.assert_frame_equal(scores(tmp_path / "results" / "m"), expected)


def _fake_checkpoint(path: Path, model: dict) -> Path:
    """A checkpoint file as `bench train` writes it, of the given model config (untrained weights)."""
    import torch

    from trackers.reid.configs import ModelConfig

    mc = ModelConfig.from_dict(model)
    torch.save({"model_config": mc.to_dict(), "state_dict": mc.build(0).state_dict()}, path)
    return path


def test_wrong_checkpoint_is_one_line_naming_the_file_and_the_mismatch(suite, global_checkpoint, tmp_path):
    import torch

    cfg = write_config(tmp_path, tmp_path / "cache", tmp_path / "results")
    held = torch.load(global_checkpoint, weights_only=True)["model_config"]
    ft = {**held, "name": "finetrack", "k": 2}
    finetrack_k2 = _fake_checkpoint(tmp_path / "ft-k2.pt", ft)
    finetrack_k4_wide = _fake_checkpoint(tmp_path / "ft-k4-w025.pt", {**ft, "k": 4, "width": 0.25})
    cases = [
        ("finetrack", global_checkpoint, ["holds a global model", "name=global", "needs name=finetrack"]),
        ("deepsort", finetrack_k2, ["holds a finetrack model", "name=finetrack", "needs name=global"]),
        ("finetrack", finetrack_k4_wide, ["(width=0.25, k=4)", "needs width=0.125, k=2"]),
    ]
    for tracker, ckpt, words in cases:
        proc = bench(cfg, "run", "--suite", str(suite), "--trackers", tracker, "--reid", str(ckpt))
        assert_one_error_line(proc, ckpt, f"reid.{tracker}", *words)
    assert run_folders(tmp_path / "results") == []  # a fitting --reid checkpoint runs: the broken-frame tests


# ---- Dask --------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_scheduler_address_fails_fast(suite, tmp_path):
    cfg = write_config(tmp_path, tmp_path / "cache", tmp_path / "results")
    address = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.time()
    proc = bench(cfg, "run", "--suite", str(suite), "--trackers", "bytetrack", "--backend", "dask",
                 "--scheduler", address, timeout=60)
    elapsed = time.time() - t0
    assert_one_error_line(proc, address, "scheduler")
    t0 = time.time()  # the CLI's own start (config, torch import): seconds on an idle machine, more on a loaded one
    assert_one_error_line(bench(cfg, "run", "--suite", str(suite), "--run-id", ".bad"), "--run-id")
    startup = time.time() - t0
    assert elapsed < 15 or elapsed - startup < 5, (elapsed, startup)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.parquet"))


@contextmanager
def dask_cluster(workers: int):
    """A real `dask scheduler` and `workers` single-threaded `dask worker` processes (no nanny: one process each,
    so killing one loses its work) on 127.0.0.1; all stopped after."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**ENV, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, procs[1:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


@pytest.mark.slow
def test_worker_killed_mid_run_units_are_rescheduled(tmp_path):
    suite = make_suite(tmp_path / "suite", n=6, frames=40)
    args = ("run", "--suite", str(suite), "--trackers", "slowiou", "--set", "trackers.slowiou.delay=0.05",
            "--no-report")
    lone_cfg = write_config(tmp_path / "lone", tmp_path / "lone" / "cache", tmp_path / "lone" / "results")
    assert bench(lone_cfg, *args, "--run-id", "lone", main=SLOW_MAIN).returncode == 0
    cfg = write_config(tmp_path / "d", tmp_path / "d" / "cache", tmp_path / "d" / "results")
    with dask_cluster(2) as (address, workers):
        proc = subprocess.Popen(bench_cmd(cfg, *args, "--run-id", "d", "--backend", "dask", "--scheduler", address,
                                          main=SLOW_MAIN),
                                cwd=cfg.parent, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tracks = tmp_path / "d" / "cache" / "tracks"
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and not list(tracks.glob("*.json")):
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before a worker could be killed"
        from distributed import Client

        with Client(address, timeout="30s") as client:
            pids = client.run(os.getpid)  # worker address → its process id
            busy = [addr for addr, keys in client.processing().items() if keys]
        assert busy, "no worker was running a unit"
        victim = next(w for w in workers if w.pid == pids[busy[0]])
        victim.kill()  # SIGKILL while it tracks: its unit is lost and must run again on the other worker
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    manifest = json.loads((tmp_path / "d" / "results" / "d" / "manifest.json").read_text())
    assert manifest["timings"]["tracks"]["jobs"] == 6
    pd.testing.assert_frame_equal(scores(tmp_path / "d" / "results" / "d"),
                                  scores(tmp_path / "lone" / "results" / "lone"))
    for f in sorted((tmp_path / "lone" / "results" / "lone" / "slowiou").glob("*.txt")):
        assert f.read_bytes() == (tmp_path / "d" / "results" / "d" / "slowiou" / f.name).read_bytes()


# ---- the lock itself -------------------------------------------------------------------------------------------

HOLD = ("import sys, time; from bench.core.fsutil import file_lock\n"
        "with file_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)")


def test_file_lock_is_exclusive_across_processes_and_freed_by_sigkill(tmp_path):
    from bench.core.fsutil import file_lock, remove_stale_locks

    lock = tmp_path / ".entry.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with file_lock(lock, wait=False) as got:
            assert not got
        remove_stale_locks(tmp_path)
        assert lock.exists()  # held: left alone
        holder.kill()  # SIGKILL: no cleanup runs, the kernel drops the lock
        holder.wait()
        assert lock.exists()
        with file_lock(lock, wait=False) as got:
            assert got
        assert not lock.exists()  # removed on release
        lock.touch()  # as a killed holder leaves it
        remove_stale_locks(tmp_path)
        assert not lock.exists()
    finally:
        holder.kill()
        holder.wait()


def test_run_id_claimed_by_a_live_run_is_an_error_and_auto_ids_step_aside(tmp_path, monkeypatch):
    from contextlib import ExitStack

    from bench.core.config import load_config
    from bench.core.errors import BenchError
    from bench.core.fsutil import file_lock, lock_path
    from bench.commands.run import plan_run
    from bench.data.suites import load_suite

    cfg = load_config(None, [f"paths.results='{tmp_path / 'r'}'", f"paths.cache='{tmp_path / 'c'}'"])
    suite_dir = make_suite(tmp_path / "suite", n=1, frames=3)
    s = load_suite(str(suite_dir), cfg)
    monkeypatch.setattr("bench.commands.run.time.strftime", lambda fmt, *args: "20260101-000000")  # one second for all
    with ExitStack() as first, ExitStack() as second:
        a = plan_run(cfg, s, ["bytetrack"], claims=first)
        b = plan_run(cfg, s, ["bytetrack"], claims=second)  # same second, same config: the next free name
        assert b.run_id == a.run_id + "-2"
        with pytest.raises(BenchError, match="another bench run is writing"):
            plan_run(cfg, s, ["bytetrack"], run_id=a.run_id, claims=ExitStack())
    with file_lock(lock_path(tmp_path / "r" / "mine"), wait=False) as got:  # released with the ExitStacks
        assert got
