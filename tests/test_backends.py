"""Backends and unit-level reuse: Dask (2-worker LocalCluster) gives loky's results; tracks are cached by the job's
content key, so a rerun after an interruption tracks only the unfinished jobs and writes the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.core.backends import Backend, run_units
from bench.core.cache import ArrayCache
from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.commands.run import run_suite
from bench.data.suites import load_suite
from tests import registry_trackers

TINY = ["synth.frames=40", "synth.num_train=1", "synth.num_val=2", "synth.people=6", "run.jobs=2"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    registry_trackers.register_all()
    cfg = load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'"])
    yield cfg, load_suite("synth", cfg)
    registry_trackers.unregister_all()


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.glob("*/*.txt"))}


def _metrics(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "metrics.csv").drop(columns="FPS").sort_values(["tracker", "seq"], ignore_index=True)


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text())


def test_dask_local_cluster_gives_loky_results(tiny):
    cfg, suite = tiny
    cache = ArrayCache(cfg.cache_dir)
    runs = {}
    for backend in ("loky", "dask"):
        cache.clear("tracks")  # both backends really track
        runs[backend] = run_suite(cfg, suite, ["bytetrack", "iou"], run_id=backend,
                                  backend=Backend(backend, 2)).run_dir
    loky, dask = runs["loky"], runs["dask"]
    assert len(_files(loky)) == 2 * len(suite.split("val"))
    assert _files(dask) == _files(loky)
    pd.testing.assert_frame_equal(_metrics(dask), _metrics(loky))
    assert _manifest(dask)["config_hash"] == _manifest(loky)["config_hash"]
    assert _manifest(dask)["timings"]["tracks"]["cache_hits"] == 0


def test_backend_is_a_config_key_and_not_part_of_the_hash(tiny):
    cfg, _ = tiny
    other = load_config(None, TINY + [f"paths.cache='{cfg.cache_dir}'", f"paths.results='{cfg.results_dir}'",
                                      "run.backend='dask'"])
    assert other.run.backend == "dask" and other.hash() == cfg.hash()
    with pytest.raises(BenchError, match="run.backend"):
        load_config(None, ["run.backend='ray'"])
    with pytest.raises(BenchError, match="--scheduler needs --backend dask"):
        Backend("loky", 2, "tcp://127.0.0.1:8786")


def test_interrupted_run_retracks_only_missing_jobs_and_matches_a_fresh_run(tiny, monkeypatch):
    cfg, suite = tiny
    cache = ArrayCache(cfg.cache_dir)
    cache.clear("tracks")
    fresh = run_suite(cfg, suite, ["bytetrack", "iou"], run_id="fresh", backend=Backend("loky", 1)).run_dir
    jobs = 2 * len(suite.split("val"))
    assert _manifest(fresh)["timings"]["tracks"] == {"cache_hits": 0, "jobs": jobs}
    cache.clear("tracks")

    import bench.commands.run

    write = bench.commands.run.write_tracks
    written = []

    def interrupt_after_two(folder, out, plan):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(out)
        write(folder, out, plan)

    monkeypatch.setattr(bench.commands.run, "write_tracks", interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_suite(cfg, suite, ["bytetrack", "iou"], run_id="again", backend=Backend("loky", 1))
    monkeypatch.setattr(bench.commands.run, "write_tracks", write)
    assert not (cfg.results_dir / "again").exists()
    assert len(cache.entries("tracks")) == 3  # the third job finished (and was cached) as the interrupt came

    seen = []
    monkeypatch.setattr(bench.commands.run, "track_sequence", lambda job: seen.append(job.key()) or _track(job))
    again = run_suite(cfg, suite, ["bytetrack", "iou"], run_id="again", backend=Backend("loky", 1)).run_dir
    assert len(seen) == 1  # only the unfinished job is tracked again
    assert _manifest(again)["timings"]["tracks"] == {"cache_hits": 3, "jobs": jobs}
    assert _files(again) == _files(fresh)
    pd.testing.assert_frame_equal(_metrics(again), _metrics(fresh))
    assert cache.entries("tracks")[0].meta["label"] in {s.name for s in suite.split("val")}


def _track(job):
    from bench.track.jobs import track_sequence

    return track_sequence(job)


def test_a_damaged_tracks_entry_is_recomputed_with_a_warning(tiny):
    cfg, suite = tiny
    first = run_suite(cfg, suite, ["bytetrack"], run_id="intact", backend=Backend("loky", 1)).run_dir
    warnings = []
    cache = ArrayCache(cfg.cache_dir)
    entry = next(e for e in cache.entries("tracks") if e.meta["key"]["source"] == "tracks:bytetrack")
    entry.path.write_bytes(entry.path.read_bytes()[:-10])

    class Collect:
        def message(self, text):
            warnings.append(text)

        def progress(self, description, total):
            from bench.core.progress import SilentReporter

            return SilentReporter().progress(description, total)

    second = run_suite(cfg, suite, ["bytetrack"], run_id="rebuilt", backend=Backend("loky", 1),
                       reporter=Collect()).run_dir
    assert any("damaged tracks entry" in w for w in warnings)
    assert _files(second) == _files(first)
    assert _manifest(second)["timings"]["tracks"]["cache_hits"] == len(suite.split("val")) - 1


def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


@pytest.mark.parametrize("name", ["loky", "dask"])
def test_run_units_yields_every_result_and_raises_a_units_error(name):
    backend = Backend(name, 2)
    assert sorted(run_units(_square, [1, 2, 3], backend, keys=["a", "b", "c"])) == [1, 4, 9]
    with pytest.raises(ValueError, match="negative: -1"):
        list(run_units(_square, [1, -1], backend))
