"""Every numeric setting has a declared range, defaults lie inside it, and out-of-range values are named errors."""

import typing

import pytest

from bench.core.config import Config, _in_range, load_config
from bench.core.errors import BenchError
from tests.config_tree import config_leaves


def _numeric(tp) -> bool:
    args = typing.get_args(tp) or (tp,)
    return any(a in (int, float) for a in args) or any(_numeric(a) for a in args if typing.get_origin(a))


def test_every_numeric_setting_declares_a_range_and_defaults_lie_inside():
    leaves = list(config_leaves(Config()))
    assert len(leaves) > 80
    for key, f, value, tp in leaves:
        if _numeric(tp) and tp is not bool:
            assert "range" in f.metadata or "choices" in f.metadata, f"{key} has no declared range"
        spec = f.metadata.get("range")
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if spec and v is not None:
                assert _in_range(v, spec), f"default {key} = {v} outside {spec}"
            if "choices" in f.metadata:
                assert v in f.metadata["choices"], key


def test_interval_ends():
    assert _in_range(0, "[0, 1]") and _in_range(1, "[0, 1]") and not _in_range(1.0001, "[0, 1]")
    assert not _in_range(0, "(0, inf)") and _in_range(1e300, "(0, inf)") and not _in_range(1, "[0, 1)")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trackers.bytetrack.track_thresh=2", r"track_thresh = 2.0 is out of range — allowed: \[0, 1\]"),
        ("trackers.bytetrack.track_thresh=nan", r"trackers.bytetrack.track_thresh = nan: expected a finite number"),
        ("trackers.bytetrack.match_thresh=7", r"match_thresh = 7.0 is out of range"),
        ("trackers.bytetrack.track_buffer=-3", r"track_buffer = -3 is out of range — allowed: \[0, inf\)"),
        ("trackers.finetrack.track_thresh=-inf", r"trackers.finetrack.track_thresh = -inf: expected a finite number"),
        ("trackers.finetrack.feature_momentum=1", r"feature_momentum = 1.0 is out of range — allowed: \[0, 1\)"),
        ("trackers.finetrack.association='sum'", r"association = 'sum' is not a valid choice"),
        ("trackers.deepsort.max_age=0", r"trackers.deepsort.max_age = 0 is out of range"),
        ("trackers.deepsort.nn_budget=0", r"nn_budget = 0 is out of range"),
        ("reid.deepsort.train.epochs=0", r"reid.deepsort.train.epochs = 0 is out of range"),
        ("reid.finetrack.train.sampler='pq'", r"sampler = 'pq' is not a valid choice — use one of pk, sgs, random"),
        ("reid.deepsort.model.input_size=[128, -64]", r"input_size = -64 is out of range"),
        ("synth.crossing_prob=1.5", r"synth.crossing_prob = 1.5 is out of range"),
        ("output.min_box_area=-1", r"output.min_box_area = -1.0 is out of range"),
        ("run.jobs=0", r"run.jobs = 0 is out of range"),
        ("analysis.holm_primaries=maybe", r"analysis.holm_primaries: expected bool, got 'maybe'"),
        ("run.trackers=[]", r"run.trackers is empty"),
        ("run.trackers=['bytetrack', 'deepsort', 'bytetrack']", r"run.trackers names bytetrack twice"),
    ],
)
def test_out_of_range_overrides_are_named(override, message):
    with pytest.raises(BenchError, match=message):
        load_config(None, [override])


def test_out_of_range_in_file_names_file_and_key(tmp_path):
    p = tmp_path / "bench.toml"
    p.write_text("[trackers.bytetrack]\ntrack_thresh = nan\n")
    with pytest.raises(BenchError, match=rf"{p}: trackers.bytetrack.track_thresh = nan"):
        load_config(p)
    p.write_text("[trackers.deepsort]\nmin_confidence = 1.5\n")
    with pytest.raises(BenchError, match=r"trackers.deepsort.min_confidence = 1.5 is out of range"):
        load_config(p)


def test_boundary_values_are_accepted():
    cfg = load_config(None, ["trackers.bytetrack.track_thresh=1", "trackers.bytetrack.track_buffer=0",
                             "trackers.deepsort.nn_budget=1", "reid.deepsort.train.warmup_epochs=0"])
    assert cfg.trackers.bytetrack.track_thresh == 1.0 and cfg.trackers.bytetrack.track_buffer == 0


def test_cross_field_checks_name_the_section_and_source():
    with pytest.raises(BenchError, match=r"^--set: synth: bad synthetic dataset parameters: need 0.05 <= far"):
        load_config(None, ["synth.far_height_frac=0.6"])
