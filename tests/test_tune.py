"""`bench tune` and `bench run --tuned N`: search space, train-only data, resumable studies, --params round trip."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.data.suites import load_suite
from bench.commands import tune
from bench.present.tuning import fmt

ROOT = Path(__file__).resolve().parents[1]
TINY = ["synth.frames=40", "synth.num_train=2", "synth.num_val=1", "synth.people=6", "run.jobs=1"]
SLOW_MAIN = "from tests import registry_trackers as t; t.register_slow(); from bench.cli import main; main()"


def _cfg(root: Path, *extra: str):
    return load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'",
                                     *extra])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tune")
    cfg = _cfg(root)
    return cfg, load_suite("synth", cfg)


def test_search_space_comes_from_declared_ranges_and_toml_overrides():
    dims = {d.name: d for d in tune.search_space(load_config(None, []), "bytetrack")}
    assert (dims["track_thresh"].kind, dims["track_thresh"].low, dims["track_thresh"].high) == ("float", 0.0, 1.0)
    assert (dims["track_buffer"].kind, dims["track_buffer"].low, dims["track_buffer"].high) == ("int", 5, 150)
    ft = {d.name: d for d in tune.search_space(load_config(None, []), "finetrack")}
    assert ft["feature_momentum"].high < 1.0  # the declared range [0, 1) is open at 1
    cfg = load_config(None, ["tune.space.bytetrack.track_buffer=[10, 20]", "tune.space.bytetrack.match_thresh=false",
                             "tune.space.bytetrack.mot20=true"])
    dims = {d.name: d for d in tune.search_space(cfg, "bytetrack")}
    assert "match_thresh" not in dims and (dims["track_buffer"].low, dims["track_buffer"].high) == (10, 20)
    assert dims["mot20"].choices == (False, True)
    for override, message in [
        ("tune.space.bytetrack.track_thresh=[0.5, 2]", "tune.space.bytetrack.track_thresh: bound 2 lies outside"),
        ("tune.space.bytetrack.track_buffer=true", "tune.space.bytetrack.track_buffer: its declared range"),
        ("tune.space.bytetrack.track_buffer=[1.5, 9]", r"track_buffer = \[1.5, 9\]: expected \[lo, hi\] \(integers"),
        ("tune.space.bytetrack.track_tresh=[0, 1]", "unknown key 'tune.space.bytetrack.track_tresh'"),
        ("tune.space.bytetrak.track_thresh=[0, 1]", "unknown tracker in 'tune.space.bytetrak'"),
        ("tune.space.bytetrack.track_thresh=[0.7, 0.2]", "empty search interval"),
    ]:
        with pytest.raises(BenchError, match=message):
            tune.search_space(load_config(None, [override]), "bytetrack")


def test_objective_is_the_primary_metric_unless_set():
    assert tune.objective_metric(load_config(None, [])) == "HOTA"
    assert tune.objective_metric(load_config(None, ["analysis.primary='IDF1'"])) == "IDF1"
    assert tune.objective_metric(load_config(None, ["analysis.primary='IDF1'", "tune.metric='AssA'"])) == "AssA"
    assert tune.direction("IDs") == "minimize" and tune.direction("HOTA") == "maximize"


def test_val_and_test_splits_are_refused(tiny):
    cfg, suite = tiny
    for split in ("val", "test"):
        with pytest.raises(BenchError, match=f"tuning on {split} sequences would leak"):
            tune.check_split(split)
    with pytest.raises(BenchError, match="leaves no train sequence"):
        tune.tune_view(load_config(None, TINY + ["tune.split='tune'", "tune.holdout=2"]), suite)


def test_cli_refuses_val_split(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", "tune", "bytetrack", "--split",
                           "val"], cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "would leak" in proc.stderr and "Traceback" not in proc.stderr


def test_tune_never_reads_val_or_test_and_its_objective_is_bench_evaluation(tmp_path):
    """The val sequences are deleted after the suite is loaded: a study that touched them (detections, gt, images,
    the Re-ID model's retrieval report) would fail. With split "tune" FineTrack's Re-ID model is trained on the
    train sequences that are not tuned on. The best value equals `bench eval` of the best parameters' result files."""
    import torch

    from bench.evaluate.score import evaluate
    from bench.data.mot_io import write_results
    from bench.appearance.checkpoints import checkpoint_path
    from bench.track.jobs import TrackJob, track_sequence
    from bench.core.trackers_registry import REGISTRY

    torch.set_num_threads(1)
    small = ["reid.finetrack.model.width=0.125", "reid.finetrack.model.input_size=[32, 16]",
             "reid.finetrack.train.epochs=1", "reid.finetrack.train.p=4", "reid.finetrack.train.k=2",
             "reid.finetrack.train.frame_stride=3", "reid.finetrack.model.k=2"]
    cfg = _cfg(tmp_path, *small, "tune.split='tune'")
    suite = load_suite("synth", cfg)
    val = suite.split("val")
    for s in val:
        shutil.rmtree(s.path)
    train = [s.name for s in suite.split("train")]
    result = tune.tune(cfg, suite, "finetrack", trials=3)
    assert result.sequences == train[-1:] and result.split == "tune" and result.budget == 3
    view, _ = tune.tune_view(cfg, suite)
    assert [s.name for s in view.split("train")] == train[:-1]
    reid = json.loads((result.folder / "tune.json").read_text())["reid"]
    assert reid["path"] == str(checkpoint_path(cfg, cfg.reid.finetrack, view, cfg.run.seed))
    assert reid["path"] != str(checkpoint_path(cfg, cfg.reid.finetrack, suite, cfg.run.seed))
    assert not any(s.path.exists() for s in val)

    bt = tune.tune(_cfg(tmp_path), suite, "bytetrack", trials=4)  # split train: both train sequences
    assert bt.sequences == train
    data = tune.prepare(_cfg(tmp_path), suite, "bytetrack")
    out = tmp_path / "check"
    for s in data.seqs:
        job = TrackJob(entry=REGISTRY["bytetrack"], params={**data.base, **bt.best_params}, seq=s.name,
                       frame_rate=s.fps, frames=s.frames, features=None, min_box_area=100.0, aspect_ratio_thresh=1.6)
        write_results(out / f"{s.name}.txt", track_sequence(job).rows)
    metrics = evaluate(out, data.seqs[0].gt_root, seqs=train).metrics
    assert metrics.loc["COMBINED", "HOTA"] == bt.best_value
    assert bt.history[0] == bt.default_value  # trial 0 is the configured parameters
    assert bt.best_value == max(bt.history) >= bt.default_value


def _complete(db: Path) -> list[tuple]:
    if not db.is_file():
        return []
    with sqlite3.connect(db) as con:
        try:
            return con.execute("SELECT number FROM trials WHERE state = 'COMPLETE' ORDER BY number").fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def _trials(folder: Path) -> list[tuple[int, dict, float]]:
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=tune.STUDY_NAME, storage=f"sqlite:///{folder / 'study.db'}")
    return [(t.number, t.params, t.value) for t in study.get_trials(states=(TrialState.COMPLETE,))]


def test_killed_study_resumes_as_the_same_study(tmp_path):
    """SIGKILL after a few trials; the same command again continues the study in the same file and ends with the
    trials an uninterrupted study has (same parameters, same values, in order)."""
    from tests.test_faults import make_suite

    TRIALS = 8  # killed once 3 are complete (the poll below), so 3-4 done before and 4-5 after
    suite_dir = tmp_path / "suite"
    make_suite(suite_dir / "train", n=3, frames=30)
    (suite_dir / "val").mkdir()
    (suite_dir / "train" / "SEQ-02").rename(suite_dir / "val" / "SEQ-02")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}

    def cmd(name: str) -> list[str]:
        return [sys.executable, "-c", SLOW_MAIN, "tune", "slowiou", "--config", str(tmp_path / f"{name}.toml"),
                "--suite", str(suite_dir), "--trials", str(TRIALS), "--jobs", "1",
                "--set", "trackers.slowiou.delay=0.01", "--set", "tune.space.slowiou.iou_thresh=[0.1, 0.9]",
                "--set", "tune.space.slowiou.min_score=[0, 0.95]"]

    for name in ("killed", "fresh"):
        (tmp_path / f"{name}.toml").write_text(f"[paths]\ncache = '{tmp_path / 'cache'}'\n"
                                               f"results = '{tmp_path / name}'\n")
    proc = subprocess.Popen(cmd("killed"), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    dbs: list[Path] = []
    while time.time() < deadline and proc.poll() is None:
        dbs = list((tmp_path / "killed" / "tune").glob("*/study.db"))
        if dbs and len(_complete(dbs[0])) >= 3:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert dbs, proc.stderr.read()
    folder = dbs[0].parent
    before = _trials(folder)
    assert 3 <= len(before) < TRIALS, "the study was not killed halfway"
    subprocess.run(cmd("killed"), cwd=tmp_path, env=env, check=True, capture_output=True)
    subprocess.run(cmd("fresh"), cwd=tmp_path, env=env, check=True, capture_output=True)
    (fresh_folder,) = [p.parent for p in (tmp_path / "fresh" / "tune").glob("*/study.db")]
    assert fresh_folder.name == folder.name  # the same content key
    after, fresh = _trials(folder), _trials(fresh_folder)
    assert after[: len(before)] == before  # the same study, continued
    assert len(after) == TRIALS
    assert [(p, v) for _, p, v in after] == [(p, v) for _, p, v in fresh]
    best = (folder / "best.toml").read_text()
    assert best == (fresh_folder / "best.toml").read_text().replace(str(tmp_path / "fresh"), str(tmp_path / "killed"))


@pytest.mark.parametrize("killed_at", ["between the draws of trial 2", "before trial 0's configured parameters"])
def test_a_trial_killed_before_all_its_draws_resumes_as_the_uninterrupted_study(tiny, tmp_path, killed_at):
    """A kill lands after the trial is created but before all its parameters are written (each draw is a write to the
    study file: the window the SIGKILL test above hits now and then). The resumed study equals the uninterrupted one;
    fixing the half that was drawn once changed the other half, and a configured trial 0 cut before its first
    draw became a sampled one."""
    import optuna

    from bench.core.backends import Backend

    cfg, suite = tiny
    backend = Backend("loky", 1, None)
    studies = {}
    for name in ("fresh", "killed"):
        c = _cfg(cfg.cache_dir.parent, f"paths.results='{tmp_path / name}'")
        data = tune.prepare(c, suite, "bytetrack")
        metric = tune.objective_metric(c)
        if name == "killed":
            done = 2 if killed_at.startswith("between") else 0
            if done:
                tune.optimise(data, c, done, backend)
            data.folder.mkdir(parents=True, exist_ok=True)
            study = tune.open_study(data.folder, c.run.seed, metric)
            if done:  # as optimise asks: the sampler re-seeded for this trial, then one draw written of several
                study.sampler = optuna.samplers.TPESampler(seed=tune._batch_seed(c.run.seed, done))
                data.dims[0].suggest(study.ask())
            else:  # as optimise enqueues the configured parameters, then asks; nothing drawn yet
                study.enqueue_trial({d.name: data.base[d.name] for d in data.dims if d.contains(data.base[d.name])})
                study.ask()
            assert len(data.dims) > 1 and len(study.trials) == done + 1
        study, _ = tune.optimise(data, c, 4, backend)
        studies[name] = [(t.params, t.value) for t in tune.complete_trials(study)]
    assert len(studies["killed"]) == 4
    assert studies["killed"] == studies["fresh"]
    base = {d.name: tune.tracker_params("bytetrack", cfg.trackers)[d.name] for d in data.dims}
    assert studies["killed"][0][0] == {k: v for k, v in base.items() if k in studies["killed"][0][0]}



    cfg, suite = tiny
    result = tune.tune(cfg, suite, "bytetrack", trials=3)
    best = result.folder / "best.toml"
    tuned = tune.apply_params(cfg, [best])
    for k, v in result.best_params.items():
        assert getattr(tuned.trackers.bytetrack, k) == v and type(getattr(tuned.trackers.bytetrack, k)) is type(v)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    conf = tmp_path / "bench.toml"
    conf.write_text(f"[paths]\ncache = '{cfg.cache_dir}'\nresults = '{tmp_path / 'r'}'\n[synth]\nframes = 40\n"
                    "num_train = 2\nnum_val = 1\npeople = 6\n")
    proc = subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", "run", "--config", str(conf),
                           "--trackers", "bytetrack", "--jobs", "1", "--params", str(best), "--run-id", "p",
                           "--no-report"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "r" / "p" / "manifest.json").read_text())
    assert {k: manifest["config"]["trackers"]["bytetrack"][k] for k in result.best_params} == result.best_params
    bad = tmp_path / "bad.toml"
    for text, message in [("[paths]\ncache = 'x'\n", "unexpected key 'paths'"),
                          ("[trackers.bytetrack]\ntrack_thresh = 3.0\n", "track_thresh = 3.0 is out of range"),
                          ("[trackers.bytetrack]\ntrack_tresh = 0.3\n",
                           "unknown key 'trackers.bytetrack.track_tresh'")]:
        bad.write_text(text)
        for command in (["run", "--trackers", "bytetrack"], ["ablate", "k"])[: 2 if "paths" in text else 1]:
            proc = subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", *command, "--config",
                                   str(conf), "--params", str(bad)], cwd=tmp_path, env=env, capture_output=True,
                                  text=True)
            assert proc.returncode == 2 and message in proc.stderr and "bad.toml" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr


def test_run_tuned_gives_every_tracker_the_same_budget_and_reports_it(tiny):
    from bench.present.report import write_report
    from bench.commands.run import run_suite

    cfg, suite = tiny
    tuned_cfg, record = tune.tune_all(cfg, suite, ["bytetrack"], 4)
    assert record["budget"] == 4 and len(record["trackers"]["bytetrack"]["history"]) == 4
    best = record["trackers"]["bytetrack"]["best_params"]
    assert all(getattr(tuned_cfg.trackers.bytetrack, k) == v for k, v in best.items())
    again, _ = tune.tune_all(cfg, suite, ["bytetrack"], 4)  # cached: the same study, no new trials
    assert again.trackers.bytetrack == tuned_cfg.trackers.bytetrack
    result = run_suite(tuned_cfg, suite, ["bytetrack"], run_id="tuned", extra_manifest={"tuning": record})
    write_report(result.run_dir)
    md = (result.run_dir / "report.md").read_text()
    assert "## Tuning" in md and "4 Optuna TPE trials" in md and "never on val or test" in md
    assert all(fmt(v) in md for v in best.values())
    assert (result.run_dir / "tune_history.png").is_file()


@pytest.mark.slow
def test_parallel_trials_give_the_same_study_on_loky_and_dask(tiny, tmp_path):
    """Two trials at a time: the batch's sampler is seeded by the completed trials, so the backend (and the order in
    which a batch's trials finish) does not change the study."""
    from bench.core.backends import Backend

    cfg, suite = tiny
    studies = []
    for name in ("loky", "dask"):
        c = load_config(None, TINY + [f"paths.cache='{cfg.cache_dir}'", f"paths.results='{tmp_path / name}'"])
        studies.append(tune.tune(c, suite, "bytetrack", trials=4, backend=Backend(name, 2)))
    assert studies[0].history == studies[1].history and studies[0].best_params == studies[1].best_params
