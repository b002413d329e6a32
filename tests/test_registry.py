"""Adding a tracker = a tracker class plus one registry entry: config, CLI names and the run stages pick it up."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.commands.run import run_suite
from bench.data.suites import load_suite
from bench.track.jobs import track_job, track_sequence
from tests import registry_trackers
from tests.test_runner import TINY


@pytest.fixture
def iou_registered():
    registry_trackers.register_all()
    yield
    registry_trackers.unregister_all()


def test_unregistered_tracker_is_unknown():
    with pytest.raises(BenchError, match="unknown tracker 'iou'"):
        load_config(None, ["run.trackers=['iou']"])


def test_registered_tracker_has_a_config_section_and_runs_through_the_stages(tmp_path, iou_registered):
    cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / 'c'}'", f"paths.results='{tmp_path / 'r'}'",
                                    "run.trackers=['iou', 'bytetrack']", "trackers.iou.iou_thresh=0.4"])
    assert cfg.trackers.iou.iou_thresh == 0.4 and "iou" not in cfg.to_dict()["reid"]  # motion only: no Re-ID section
    with pytest.raises(BenchError, match="unknown key 'trackers.iou.nope'"):
        load_config(None, ["trackers.iou.nope=1"])
    suite = load_suite("synth", cfg)
    result = run_suite(cfg, suite, cfg.run.trackers, run_id="iou")
    val = sorted(s.name for s in suite.split("val"))
    assert sorted(p.stem for p in (result.run_dir / "iou").glob("*.txt")) == val
    combined = result.combined("iou")
    assert 0.2 < combined["HOTA"] <= 1 and combined["IDs"] >= 0
    assert result.manifest.config["trackers"]["iou"]["iou_thresh"] == 0.4
    on_disk = pd.read_csv(result.run_dir / "metrics.csv")
    pd.testing.assert_frame_equal(on_disk, result.metrics, check_dtype=False)


def test_track_job_key_is_a_content_key(iou_registered):
    import numpy as np

    frames = [np.array([[10.0, 10, 50, 90, 0.9]]), np.array([[12.0, 10, 52, 90, 0.8]])]
    cfg = load_config(None, ["trackers.iou.iou_thresh=0.3"])
    job = track_job(cfg, "iou", "S", 30.0, frames)
    assert job.params == {"iou_thresh": 0.3, "min_score": 0.1, "delay": 0.0} and job.min_box_area == 100
    same = track_job(cfg, "iou", "S", 30.0, [f.copy() for f in frames])
    moved = track_job(cfg, "iou", "S", 30.0, [frames[0], frames[1] + 1])
    other = dataclasses.replace(job, params={**job.params, "iou_thresh": 0.5})
    assert job.key() == same.key()
    assert len({job.key(), moved.key(), other.key()}) == 3
    out = track_sequence(job)
    assert out.rows[:, 1].tolist() == [1, 1]  # one track across both frames
