from pathlib import Path

import pytest

from bench.core.config import load_config
from bench.core.errors import BenchError

ROOT = Path(__file__).resolve().parents[1]


def test_repo_bench_toml_loads_and_matches_reference_defaults():
    cfg = load_config(ROOT / "bench.toml")
    assert cfg.trackers.bytetrack.track_thresh == 0.6
    assert cfg.trackers.bytetrack.match_thresh == 0.9
    assert cfg.run.suite == "synth"
    assert cfg.cache_dir == ROOT / ".cache/bench"


def _cfg(tmp_path, text):
    p = tmp_path / "bench.toml"
    p.write_text(text)
    return p


def test_unknown_key_is_named(tmp_path):
    p = _cfg(tmp_path, "[trackers.bytetrack]\ntrack_tresh = 0.5\n")
    with pytest.raises(BenchError, match=r"unknown key 'trackers.bytetrack.track_tresh'"):
        load_config(p)


def test_bad_type_is_named(tmp_path):
    p = _cfg(tmp_path, "[run]\njobs = 'two'\n")
    with pytest.raises(BenchError, match=r"run.jobs: expected int"):
        load_config(p)


def test_bad_value_is_named(tmp_path):
    p = _cfg(tmp_path, "[run]\ndevice = 'tpu'\n")
    with pytest.raises(BenchError, match=r"run.device = 'tpu' is not a valid choice — use one of auto, cpu, cuda"):
        load_config(p)
    p = _cfg(tmp_path, "[run]\ntrackers = ['bytetrak']\n")
    with pytest.raises(BenchError, match=r"unknown tracker 'bytetrak'"):
        load_config(p)


def test_invalid_toml(tmp_path):
    p = _cfg(tmp_path, "[run\n")
    with pytest.raises(BenchError, match="invalid TOML"):
        load_config(p)


def test_overrides_and_int_to_float(tmp_path):
    p = _cfg(tmp_path, "[trackers.bytetrack]\ntrack_thresh = 1\n")
    cfg = load_config(p, ["trackers.bytetrack.match_thresh=0.8", "run.trackers=['bytetrack']", "run.jobs=1"])
    assert cfg.trackers.bytetrack.track_thresh == 1.0 and isinstance(cfg.trackers.bytetrack.track_thresh, float)
    assert cfg.trackers.bytetrack.match_thresh == 0.8
    assert cfg.run.jobs == 1
    with pytest.raises(BenchError, match="unknown key 'run.nope'"):
        load_config(p, ["run.nope=1"])


def test_hash_changes_with_values(tmp_path):
    p = _cfg(tmp_path, "")
    a, b = load_config(p), load_config(p, ["trackers.bytetrack.track_buffer=60"])
    assert a.hash() == load_config(p).hash()
    assert a.hash() != b.hash()


def test_mot17_env_overrides_config(tmp_path, monkeypatch):
    p = _cfg(tmp_path, "[paths]\nmot17 = 'data/MOT17'\n")
    monkeypatch.delenv("BENCH_MOT17", raising=False)
    assert load_config(p).mot17_root == tmp_path / "data/MOT17"
    monkeypatch.setenv("BENCH_MOT17", str(tmp_path / "elsewhere"))
    assert load_config(p).mot17_root == tmp_path / "elsewhere"
