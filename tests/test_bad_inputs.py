"""Bad input run through the CLI as a user would: exit code 2, one line naming the file/key, no traceback.

To add a case, write a function `case_<name>(tmp) -> (args, needle)` that creates its files under `tmp` and returns
the CLI arguments and a text the one error line must contain; decorate it with `@bad_input`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from bench.data.mot_io import SeqInfo, write_seqinfo
from tests.test_cli import bench

DET_LINE = "1,-1,10,10,20,40,0.9,-1,-1,-1\n"
CASES: dict[str, Callable[[Path], tuple[list[str], str]]] = {}


def bad_input(fn: Callable[[Path], tuple[list[str], str]]) -> Callable[[Path], tuple[list[str], str]]:
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


def _det(tmp: Path, text: str = DET_LINE, seq: str = "SEQ", length: int | None = None) -> Path:
    """tmp/<seq>/det/det.txt with `text` (and a seqinfo.ini of `length` frames when given)."""
    p = tmp / seq / "det" / "det.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    if length is not None:
        write_seqinfo(p.parent.parent, SeqInfo(seq, length, 640, 480, 30.0))
    return p


def _track(tmp: Path, *extra: str, det: Path | None = None) -> list[str]:
    return ["track", str(det or _det(tmp)), "--out", str(tmp / "out"), *extra]


def _toml(tmp: Path, text: str) -> Path:
    p = tmp / "bench.toml"
    p.write_text(text)
    return p


@bad_input
def case_set_threshold_above_one(tmp):
    args = _track(tmp, "--set", "trackers.bytetrack.track_thresh=2")
    return args, "--set: trackers.bytetrack.track_thresh = 2.0 is out of range — allowed: [0, 1]"


@bad_input
def case_set_threshold_nan(tmp):
    return _track(tmp, "--set", "trackers.bytetrack.track_thresh=nan"), "--set: trackers.bytetrack.track_thresh = nan"


@bad_input
def case_set_negative_buffer(tmp):
    args = _track(tmp, "--set", "trackers.bytetrack.track_buffer=-3")
    return args, "track_buffer = -3 is out of range — allowed: [0, inf)"


@bad_input
def case_toml_match_thresh_seven(tmp):
    p = _toml(tmp, "[trackers.bytetrack]\nmatch_thresh = 7\n")
    return _track(tmp, "--config", str(p)), f"{p}: trackers.bytetrack.match_thresh = 7.0 is out of range"


@bad_input
def case_toml_nan_min_confidence(tmp):
    p = _toml(tmp, "[trackers.deepsort]\nmin_confidence = nan\n")
    return ["cache", "ls", "--config", str(p)], f"{p}: trackers.deepsort.min_confidence = nan"


@bad_input
def case_toml_bad_choice(tmp):
    p = _toml(tmp, "[reid.deepsort.train]\nschedule = 'linear'\n")
    return ["cache", "ls", "--config", str(p)], "reid.deepsort.train.schedule = 'linear' is not a valid choice"


@bad_input
def case_duplicate_trackers(tmp):
    return ["run", "--trackers", "bytetrack,bytetrack", "--suite", str(tmp)], "run.trackers names bytetrack twice"


@bad_input
def case_empty_trackers(tmp):
    p = _toml(tmp, "[run]\ntrackers = []\n")
    return ["cache", "ls", "--config", str(p)], f"{p}: run.trackers is empty"


@bad_input
def case_nan_box_in_det(tmp):
    p = _det(tmp, DET_LINE + "2,-1,10,10,nan,40,0.9,-1,-1,-1\n")
    return _track(tmp, det=p), f"{p}:2: NaN or infinite value"


@bad_input
def case_det_frame_beyond_seq_length(tmp):
    p = _det(tmp, DET_LINE + "\n9,-1,10,10,20,40,0.9,-1,-1,-1\n", length=5)
    return _track(tmp, det=p), f"{p}:3: frame 9 is past the sequence end (5 frames"


@bad_input
def case_gt_frame_beyond_seq_length(tmp):
    gt = tmp / "gt" / "SEQ" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,10,10,20,40,1,1,1\n6,1,10,10,20,40,1,1,1\n")
    write_seqinfo(gt.parent.parent, SeqInfo("SEQ", 5, 640, 480, 30.0))
    (tmp / "res").mkdir()
    (tmp / "res" / "SEQ.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    return ["eval", str(tmp / "res"), "--gt", str(tmp / "gt")], f"{gt}:2: frame 6 is past the sequence end"


@bad_input
def case_result_frame_beyond_seq_length(tmp):
    gt = tmp / "gt" / "SEQ" / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True)
    gt.write_text("1,1,10,10,20,40,1,1,1\n")
    write_seqinfo(gt.parent.parent, SeqInfo("SEQ", 5, 640, 480, 30.0))
    (tmp / "res").mkdir()
    (tmp / "res" / "SEQ.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n7,1,10,10,20,40,1,-1,-1,-1\n")
    return ["eval", str(tmp / "res"), "--gt", str(tmp / "gt")], f"{tmp / 'res' / 'SEQ.txt'}:2: frame 7"


@bad_input
def case_duplicate_track_inputs(tmp):
    a, b = _det(tmp / "a"), _det(tmp / "b")
    return ["track", str(a), str(b), "--out", str(tmp / "out")], f"{b}: sequence 'SEQ' is given twice (also {a})"


@bad_input
def case_out_is_a_file(tmp):
    (tmp / "out").write_text("not a folder")
    return _track(tmp), f"{tmp / 'out'}: --out is a file, not a folder"


@bad_input
def case_out_under_a_file(tmp):
    (tmp / "f").write_text("not a folder")
    out = tmp / "f" / "out"
    return ["track", str(_det(tmp)), "--out", str(out)], f"{tmp / 'f'}: --out {out} lies under a file"


def _seq(root: Path, name: str, frames: int = 2) -> Path:
    """A minimal MOTChallenge sequence (seqinfo, one gt box and one det per frame) under root/name."""
    seq = root / name
    lines = "".join(f"{f},1,10,10,20,40,1,1,1.0\n" for f in range(1, frames + 1))
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text(lines)
    _det(root, "".join(f"{f},-1,10,10,20,40,0.9,-1,-1,-1\n" for f in range(1, frames + 1)), name, frames)
    return seq


@bad_input
def case_run_id_outside_results(tmp):
    (tmp / "victim").mkdir()
    return ["run", "--run-id", "../victim"], "--run-id '../victim' is not a plain name"


@bad_input
def case_run_id_absolute(tmp):
    return ["run", "--run-id", str(tmp / "victim")], "is not a plain name"


@bad_input
def case_run_id_example(tmp):
    return ["run", "--run-id", "example"], "--run-id 'example' is not a plain name"


@bad_input
def case_checkpoint_that_runs_code(tmp):
    import pickle

    class Payload:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {tmp / 'PWNED'}",))

    (tmp / "evil.pt").write_bytes(pickle.dumps(Payload()))
    return ["run", "--reid", f"deepsort={tmp / 'evil.pt'}", "--trackers", "deepsort"], "refusing to load"


@bad_input
def case_checkpoint_of_random_bytes(tmp):
    (tmp / "garbage.pt").write_bytes(bytes(range(256)) * 8)
    return ["run", "--reid", f"finetrack={tmp / 'garbage.pt'}", "--trackers", "finetrack"], "garbage.pt"


@bad_input
def case_suite_folder_without_seqinfo(tmp):
    _seq(tmp / "suite", "A")
    broken = _seq(tmp / "suite", "B")
    (broken / "seqinfo.ini").unlink()
    return ["run", "--suite", str(tmp / "suite"), "--trackers", "bytetrack"], "B"


@bad_input
def case_eval_results_for_fewer_sequences(tmp):
    _seq(tmp / "gt", "A"), _seq(tmp / "gt", "B")
    (tmp / "res").mkdir()
    (tmp / "res" / "A.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    return ["eval", str(tmp / "res"), "--gt", str(tmp / "gt")], "B"


def _seqinfo_case(key: str, value: str, command: str) -> Callable[[Path], tuple[list[str], str]]:
    """seqinfo.ini with `key=value` (the rest valid): one line naming the file, the key and the value."""

    def case(tmp: Path) -> tuple[list[str], str]:
        keys = {"name": "SEQ", "seqLength": "2", "imWidth": "640", "imHeight": "480", "frameRate": "30"} | {key: value}
        if command == "run":
            _seq(tmp / "suite", "SEQ")
            ini = tmp / "suite" / "SEQ" / "seqinfo.ini"
            args = ["run", "--suite", str(tmp / "suite"), "--trackers", "bytetrack"]
        else:
            ini = _det(tmp, length=2).parent.parent / "seqinfo.ini"
            args = _track(tmp)
        ini.write_text("[Sequence]\n" + "".join(f"{k}={v}\n" for k, v in keys.items()))
        return args, f"{ini}: bad seqinfo.ini: {key}={value!r} must be a positive integer"

    return case


for _key, _value, _command in [("frameRate", "0", "track"), ("frameRate", "-25", "track"), ("frameRate", "-25", "run"),
                               ("frameRate", "nan", "track"), ("frameRate", "inf", "run"), ("frameRate", "abc", "track"),
                               ("imWidth", "0", "run"), ("imHeight", "-1", "run"), ("seqLength", "1.5", "track"),
                               ("seqLength", "0", "run")]:
    CASES[f"seqinfo_{_key}_{_value}_{_command}"] = _seqinfo_case(_key, _value, _command)


@bad_input
def case_seqinfo_without_section_is_one_line(tmp):
    ini = _det(tmp, length=2).parent.parent / "seqinfo.ini"
    ini.write_text("seqLength=2\n")
    return _track(tmp), f"{ini}: bad seqinfo.ini (File contains no section headers."


@bad_input
def case_bom_inside_a_det_file(tmp):
    det = _det(tmp, DET_LINE + "\ufeff" + DET_LINE)
    return _track(tmp, det=det), f"{det}:2: a byte-order mark (U+FEFF) inside the file"


@bad_input
def case_eval_json_is_a_folder(tmp):
    _seq(tmp / "gt", "A")
    (tmp / "res").mkdir()
    (tmp / "res" / "A.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    (tmp / "jsondir").mkdir()
    return (["eval", str(tmp / "res"), "--gt", str(tmp / "gt"), "--json", str(tmp / "jsondir")],
            f"{tmp / 'jsondir'}: --json names a folder; it takes a file")


def _eval_case(tmp: Path, result_name: str = "A", text: str = "1,1,10,10,20,40,1,-1,-1,-1\n", ini: bool = True
               ) -> list[str]:
    seq = _seq(tmp / "gt", "MOT17-02")
    if not ini:
        (seq / "seqinfo.ini").unlink()
    (tmp / "res").mkdir(exist_ok=True)
    (tmp / "res" / f"{result_name}.txt").write_text(text)
    return ["eval", str(tmp / "res"), "--gt", str(tmp / "gt")]


@bad_input
def case_eval_stray_result_frame_without_seqinfo(tmp):
    """Frame 2,000,000 once: was 120 s and 5.6 GB before being killed; now the gt's last frame bounds the work."""
    args = _eval_case(tmp, "MOT17-02", "1,1,10,10,20,40,1,-1,-1,-1\n2000000,1,10,10,20,40,1,-1,-1,-1\n", ini=False)
    return args, f"{tmp / 'res' / 'MOT17-02.txt'}:2: frame 2000000 is past the gt's last frame (2; no seqinfo.ini"


@bad_input
def case_eval_stray_result_frame_with_seqinfo(tmp):
    args = _eval_case(tmp, "MOT17-02", "1,1,10,10,20,40,1,-1,-1,-1\n2000000,1,10,10,20,40,1,-1,-1,-1\n")
    return args, f"{tmp / 'res' / 'MOT17-02.txt'}:2: frame 2000000 is past the sequence end (2 frames in"


@bad_input
def case_eval_sequence_name_in_another_case(tmp):
    args = _eval_case(tmp, "mot17-02")
    return args, "no results for 1 of 1 gt sequences: MOT17-02 (there is mot17-02.txt: names must match exactly"


@bad_input
def case_eval_trackeval_trackers_folder(tmp):
    args = _eval_case(tmp, "x")
    (tmp / "res" / "x.txt").unlink()
    for tracker in ("A", "B"):
        (tmp / "res" / tracker / "data").mkdir(parents=True)
        (tmp / "res" / tracker / "data" / "MOT17-02.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    return args, "TrackEval's <TRACKER>/data/ layout: pass one tracker's folder, or compare them all with `bench compare`"


@bad_input
def case_eval_gt_root_one_level_up(tmp):
    _seq(tmp / "gt" / "MOT17-train", "MOT17-02")
    (tmp / "res").mkdir()
    return (["eval", str(tmp / "res"), "--gt", str(tmp / "gt")],
            "these subfolders hold sequences: MOT17-train (pass one of them as --gt)")


@bad_input
def case_hint_with_a_toml_section(tmp):
    p = _toml(tmp, '[run]\ndetections = "files"\n')
    return ["cache", "ls", "--config", str(p)], 'set [detections.files] dir = "folder with <SEQ>.txt per sequence"'


@bad_input
def case_params_file_hint_with_a_toml_section(tmp):
    p = tmp / "best.toml"
    p.write_text("[run]\nseed = 1\n")
    return (["run", "--params", str(p), "--trackers", "bytetrack"],
            f"{p}: unexpected key 'run' — a params file holds [trackers.<name>] tables only")


@bad_input
def case_det_saved_as_utf16(tmp):
    det = _det(tmp)
    det.write_text(DET_LINE, encoding="utf-16")
    return _track(tmp, det=det), f"{det}: cannot read detection file (it is UTF-16 text; save it as UTF-8)"


@bad_input
def case_gt_in_latin1(tmp):
    _seq(tmp / "gt", "A")
    (tmp / "gt" / "A" / "gt" / "gt.txt").write_bytes("1,1,10,10,20,40,1,1,1.0 \xe4\n".encode("latin-1"))
    (tmp / "res").mkdir()
    (tmp / "res" / "A.txt").write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    return ["eval", str(tmp / "res"), "--gt", str(tmp / "gt")], "cannot read ground-truth file"


@bad_input
def case_seqinfo_saved_as_utf16(tmp):
    ini = _det(tmp, length=2).parent.parent / "seqinfo.ini"
    ini.write_text("[Sequence]\nseqLength=2\n", encoding="utf-16")
    return _track(tmp), f"{ini}: bad seqinfo.ini: not UTF-8 text (it is UTF-16 text; save it as UTF-8)"


# Every case runs in a folder whose path reads as Rich markup and is not ASCII ("[" / "x] [a] [bold]ü 東京"): the one
# error line must name the path as it is (no MarkupError from "[/x]", no "[a]" swallowed as a style tag).
MARKUP_FOLDER = "[/x] [a] [bold]ü 東京"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_with_one_line(tmp_path, name):
    tmp_path = tmp_path / MARKUP_FOLDER
    tmp_path.mkdir(parents=True)
    args, needle = CASES[name](tmp_path)
    proc = bench(*args, cwd=tmp_path, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
    assert needle in lines[0], lines[0]
    assert not (tmp_path / "out").is_dir() or not any((tmp_path / "out").iterdir())
    assert not (tmp_path / "PWNED").exists()  # a hostile checkpoint never runs its payload
    if (tmp_path / "victim").exists():
        assert (tmp_path / "victim").is_dir()  # a run id never reaches (or deletes) a folder outside results/


def test_bare_det_with_huge_frame_number_is_quick(tmp_path):
    """Frame 1 and frame 50,000,000: memory and time follow the two rows (was 8 GB and minutes)."""
    from bench.core.trackers_registry import make_tracker

    assert make_tracker("bytetrack", {}, 30.0).max_time_lost == 30  # what `bench track` skips gaps by
    p = _det(tmp_path, DET_LINE + "50000000,-1,10,10,20,40,0.9,-1,-1,-1\n")
    proc = bench(*_track(tmp_path, det=p), cwd=tmp_path)  # a hang here is the bug; no speed target
    assert "SEQ: 50000000 frames" in proc.stdout
    assert (tmp_path / "out" / "SEQ.txt").read_text() == "1,1,10.00,10.00,20.00,40.00,0.90,-1,-1,-1\n"


def test_damaged_cache_entry_is_rebuilt_with_the_clean_numbers(tmp_path):
    """A truncated detections parquet: one warning line, the run succeeds, its metrics equal a clean run's."""
    from tests.test_suites import make_mot17_tree

    make_mot17_tree(tmp_path / "MOT17")
    _toml(tmp_path, f"[paths]\ncache = '{tmp_path / 'c'}'\nresults = '{tmp_path / 'r'}'\n"
                    "[run]\ntrackers = ['bytetrack']\njobs = 1\n")
    suite = str(tmp_path / "MOT17" / "train")
    bench("run", "--suite", suite, "--no-report", "--run-id", "clean", cwd=tmp_path)
    entries = sorted((tmp_path / "c" / "detections").glob("*.parquet"))
    assert entries
    for p in entries:
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    proc = bench("run", "--suite", suite, "--no-report", "--run-id", "again", cwd=tmp_path)
    warnings = [line for line in proc.stderr.splitlines() if "damaged detections entry" in line]
    assert len(warnings) >= 1 and "Traceback" not in proc.stderr and "rebuilding" in warnings[0]
    clean, again = (pd.read_csv(tmp_path / "r" / r / "metrics.csv") for r in ("clean", "again"))
    cols = [c for c in clean.columns if c in ("HOTA", "MOTA", "IDF1", "IDs", "FP", "FN", "DetA", "AssA")]
    assert cols and clean[cols].equals(again[cols])
