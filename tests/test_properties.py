"""Property-based tests (hypothesis) of the MOTChallenge readers/writers and the config loader.

Valid random files round-trip exactly; random corruptions give a BenchError naming the file (and line), never
another exception.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.config import Config, load_config
from bench.core.errors import BenchError
from bench.data.mot_io import read_detections, read_gt, read_results, write_detections, write_gt, write_results
from tests.config_tree import config_leaves

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

frames = st.integers(1, 100_000)
cents = st.integers(-10_000_000, 10_000_000).map(lambda i: i / 100)  # values with 2 decimals, as written
sizes = st.integers(1, 10_000_000).map(lambda i: i / 100)
scores = st.integers(0, 100).map(lambda i: i / 100)


def _rows(*columns: st.SearchStrategy) -> st.SearchStrategy:
    to_array = lambda r: np.array(r, dtype=np.float64).reshape(-1, len(columns))  # noqa: E731
    return st.lists(st.tuples(*columns), max_size=40).map(to_array)


@SETTINGS
@given(rows=_rows(frames, st.integers(1, 10**6), cents, cents, sizes, sizes, scores))
def test_results_round_trip(tmp_path, rows):
    p = tmp_path / "r.txt"
    write_results(p, rows)
    np.testing.assert_array_equal(read_results(p), rows)


@SETTINGS
@given(rows=_rows(frames, st.integers(1, 10**6), cents, cents, sizes, sizes, st.integers(0, 1), st.integers(1, 13),
                  st.integers(0, 10_000).map(lambda i: i / 10_000)))
def test_gt_round_trip(tmp_path, rows):
    p = tmp_path / "gt.txt"
    write_gt(p, rows)
    np.testing.assert_array_equal(read_gt(p), rows)


def _det_line(r: tuple) -> str:
    frame, x, y, w, h, score = r
    return f"{frame},-1,{x:.2f},{y:.2f},{w:.2f},{h:.2f},{score:.6f},-1,-1,-1\n"


det_lines = st.lists(st.tuples(frames, cents, cents, sizes, sizes, st.integers(0, 10**6).map(lambda i: i / 10**6)),
                     max_size=40).map(lambda rs: "".join(_det_line(r) for r in sorted(rs, key=lambda r: r[0])))


@SETTINGS
@given(text=det_lines)
def test_detections_round_trip(tmp_path, text):
    p, q = tmp_path / "det.txt", tmp_path / "det2.txt"
    p.write_text(text)
    write_detections(q, read_detections(p))
    assert q.read_text() == text


# --- corruptions --------------------------------------------------------------------------------------------------

VALID = {
    "det": ("1,-1,10.5,20,30,40,0.9,-1,-1,-1", read_detections),
    "gt": ("1,3,10.5,20,30,40,1,1,0.5", read_gt),
    "res": ("2,3,10.5,20,30,40,0.9,-1,-1,-1", read_results),
}
junk = st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "1e300", "-1e12", "abc", "", " ", "1.5", "0", "-1",
                        "0x10", "1,2", "\"3\"", "None", "١٢", "1_0", "9" * 40]) | st.text(max_size=8)


@st.composite
def corrupted(draw) -> tuple[str, int]:
    """(file text, the 1-based number of the corrupted line)."""
    lines = [VALID[draw(st.sampled_from(sorted(VALID)))][0]] * draw(st.integers(1, 5))
    i = draw(st.integers(0, len(lines) - 1))
    parts = lines[i].split(",")
    kind = draw(st.sampled_from(["truncate", "field", "drop", "add", "many"]))
    if kind == "truncate":
        bad = lines[i][: draw(st.integers(0, len(lines[i]) - 1))]
    elif kind == "field":
        j = draw(st.integers(0, len(parts) - 1))
        bad = ",".join(parts[:j] + [draw(junk)] + parts[j + 1 :])
    elif kind == "drop":
        bad = ",".join(parts[: draw(st.integers(1, 5))])
    elif kind == "add":
        bad = ",".join(parts + [draw(junk)] * draw(st.integers(1, 4)))
    else:
        bad = ",".join(draw(junk) for _ in parts)
    bad = bad.replace("\n", " ").replace("\r", " ")
    lines[i] = bad
    return "\n".join(lines) + "\n", i + 1


@SETTINGS
@given(case=corrupted(), reader=st.sampled_from(sorted(VALID)))
def test_corrupted_lines_give_bench_error_with_file_and_line(tmp_path, case, reader):
    text, lineno = case
    p = tmp_path / "f.txt"
    p.write_text(text)
    try:
        out = VALID[reader][1](p)
    except BenchError as e:
        assert f"{p}:" in str(e) and e.line is not None and 1 <= e.line <= lineno, str(e)
        return
    assert np.isfinite(out).all() and (np.abs(out) <= 1e9).all()  # a corruption that left a valid (or blank) line


@SETTINGS
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_crash(tmp_path, data):
    p = tmp_path / "f.txt"
    p.write_bytes(data)
    for _, reader in VALID.values():
        try:
            out = reader(p)
        except BenchError as e:
            assert str(p) in str(e)
        else:
            assert np.isfinite(out).all()


# --- config loader -------------------------------------------------------------------------------------------------


LEAVES = [(key, f, tp) for key, f, _, tp in config_leaves(Config())]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def _toml(mapping: dict[str, object]) -> str:
    return "".join(f"{k} = {_toml_value(v)}\n" for k, v in mapping.items())


scalars = (st.integers(-(2**40), 2**40) | st.floats() | st.booleans() | st.text(max_size=10)
           | st.sampled_from(["bytetrack", "cuda", "cosine", "fused", "gem", "FRCNN"]))
values = scalars | st.lists(scalars, max_size=3) | st.lists(st.sampled_from(["bytetrack", "deepsort", "x"]), max_size=4)
keys = st.sampled_from([k for k, _, _ in LEAVES]) | st.sampled_from([k for k, _, _ in LEAVES]).map(lambda k: k + "x")


@SETTINGS
@given(mapping=st.dictionaries(keys, values, max_size=6))
def test_random_config_files_load_or_name_the_file(tmp_path, mapping):
    # a key that is a prefix of another one cannot be written as TOML dotted keys: keep the first
    clean = {k: v for k, v in mapping.items() if not any(o != k and o.startswith(k + ".") for o in mapping)}
    p = tmp_path / "bench.toml"
    p.write_text(_toml(clean))
    try:
        cfg = load_config(p)
    except BenchError as e:
        assert str(e).startswith(f"{p}: "), str(e)
    else:
        assert isinstance(cfg, Config)


def _in_range_value(f: dataclasses.Field, tp) -> st.SearchStrategy:
    if "choices" in f.metadata:
        return st.sampled_from(list(f.metadata["choices"]))
    spec = f.metadata["range"]
    lo, hi = (float(x) for x in spec[1:-1].split(","))
    hi = min(hi, lo + 1e6)
    ints = int in (typing.get_args(tp) or (tp,))
    if ints:
        return st.integers(math.ceil(lo) + (spec[0] == "(" and lo == math.ceil(lo)),
                           math.floor(hi) - (spec[-1] == ")" and hi == math.floor(hi)))
    return st.floats(lo, hi, exclude_min=spec[0] == "(", exclude_max=spec[-1] == ")")


ROUND_TRIP = {k: (f, tp) for k, f, tp in LEAVES
              if ("range" in f.metadata or "choices" in f.metadata)
              and (k.startswith(("trackers.", "output.", "run.seed", "run.jobs")) or ".train." in k)}


@SETTINGS
@given(data=st.data())
def test_in_range_values_load_exactly(tmp_path, data):
    chosen = data.draw(st.lists(st.sampled_from(sorted(ROUND_TRIP)), unique=True, max_size=8))
    mapping = {k: data.draw(_in_range_value(*ROUND_TRIP[k]), label=k) for k in chosen}
    p = tmp_path / "bench.toml"
    p.write_text(_toml(mapping))
    cfg = load_config(p)
    for k, v in mapping.items():
        got = cfg
        for part in k.split("."):
            got = getattr(got, part)
        assert got == v, k
