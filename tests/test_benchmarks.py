"""Issue 31: every benchmark scored by its own protocol, equal to standalone TrackEval run with that benchmark's
settings; the benchmark decided from the folder's evidence (or asked for); issue 27 item 3: the gt format decided
from the whole file.

Per benchmark a gt that exercises its rules — distractor classes (2, 7, 8, 12 and MOT20's 6) with conf 1 and 0,
zero-marked pedestrians, classes that are neither (3 car, 9 occluder, 13 crowd), classes present in one benchmark and
not another — and results that put boxes on each of them, on pedestrians (with misses and an id switch) and on
nothing. `trackeval_standalone` runs TrackEval's own `Evaluator` on `MotChallenge2DBox` over the files as written
(its own reader, seqinfo.ini, its COMBINED); bench's `evaluate` must give every metric the same, per sequence and
COMBINED. MOTChallenge's own gt files are not redistributable here; MOT15 uses the real TUD files of
tests/data/motmetrics-tud (see tests/data/README.md).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.data.benchmarks import choose, detect_benchmark, gt_format
from bench.data.mot_fast import load_rows
from bench.data.mot_io import SeqInfo, write_gt, write_results, write_seqinfo
from bench.evaluate.score import evaluate
from bench.evaluate.trackeval_adapter import COUNT_COLUMNS, RATE_COLUMNS, metrics_row

DATA = Path(__file__).resolve().parent / "data"
TUD = DATA / "motmetrics-tud"
COLUMNS = list(RATE_COLUMNS + COUNT_COLUMNS)
N_FRAMES = 30


# ------------------------------------------------------------------------------------------------ helpers


def trackeval_standalone(gt_root: Path, res_dir: Path, seqs: list[str], benchmark: str, do_preproc: bool = True,
                         work: Path | None = None) -> pd.DataFrame:
    """TrackEval's own pipeline (Evaluator + MotChallenge2DBox reading the files and seqinfo.ini) with these
    settings; one metrics row per sequence and COMBINED, in bench's columns."""
    import trackeval

    work = work or res_dir.parent / "trackeval-standalone"
    trackers = work / "trackers"
    (trackers / "trk").mkdir(parents=True, exist_ok=True)
    for s in seqs:
        shutil.copyfile(res_dir / f"{s}.txt", trackers / "trk" / f"{s}.txt")
    dataset = trackeval.datasets.MotChallenge2DBox({
        "GT_FOLDER": str(gt_root), "TRACKERS_FOLDER": str(trackers), "OUTPUT_FOLDER": str(work / "out"),
        "TRACKERS_TO_EVAL": ["trk"], "BENCHMARK": benchmark, "DO_PREPROC": do_preproc, "SPLIT_TO_EVAL": "train",
        "SEQ_INFO": {s: None for s in seqs}, "SKIP_SPLIT_FOL": True, "TRACKER_SUB_FOLDER": "", "PRINT_CONFIG": False,
    })
    evaluator = trackeval.Evaluator({"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False,
                                     "TIME_PROGRESS": False, "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False,
                                     "PLOT_CURVES": False, "LOG_ON_ERROR": None})
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
               trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False})]  # Evaluator adds Count
    out, _ = evaluator.evaluate([dataset], metrics)
    per = out["MotChallenge2DBox"]["trk"]
    rows = [{"seq": "COMBINED" if s == "COMBINED_SEQ" else s, **metrics_row(per[s]["pedestrian"])}
            for s in [*seqs, "COMBINED_SEQ"]]
    return pd.DataFrame(rows).set_index("seq")[COLUMNS]


def assert_same_metrics(bench_metrics: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Every metric, every sequence and COMBINED: counts exactly, rates to 1e-12."""
    ours = bench_metrics[COLUMNS]
    assert list(ours.index) == list(theirs.index)
    for col in COUNT_COLUMNS:
        assert ours[col].tolist() == theirs[col].tolist(), col
    for col in RATE_COLUMNS:
        np.testing.assert_allclose(ours[col].to_numpy(float), theirs[col].to_numpy(float), rtol=0, atol=1e-12,
                                   err_msg=col)


def scene(seed: int, other_classes: list[tuple[int, int]], n_frames: int = N_FRAMES, zero_marked: bool = True
          ) -> tuple[np.ndarray, np.ndarray]:
    """(gt rows frame,id,x,y,w,h,conf,class,vis; result rows frame,id,x,y,w,h,score).

    gt: 5 pedestrians (class 1, conf 1), one zero-marked pedestrian (class 1, conf 0) and one track per
    (class, conf) in `other_classes`, each in its own column of the image (no two objects overlap). Results: the
    pedestrians with jitter, 15 % misses and one id switch; a box on every zero-marked and other-class object in 90 %
    of frames; one false positive per frame below everything."""
    rng = np.random.default_rng(seed)
    objects = [(1, 1)] * 5 + ([(1, 0)] if zero_marked else []) + list(other_classes)
    gt, res = [], []
    for k, (cls, conf) in enumerate(objects):
        first, last = int(rng.integers(1, 6)), int(rng.integers(n_frames - 5, n_frames + 1))
        x0, y0, w, h = 60.0 + 160 * k, 80.0 + 20 * (k % 3), 40.0 + 2 * k, 110.0 + 3 * k
        for f in range(first, last + 1):
            x = x0 + 1.5 * (f - first)
            gt.append((f, k + 1, x, y0, w, h, conf, cls, float(rng.uniform(0, 1))))
            if cls == 1 and conf == 1:
                if rng.uniform() < 0.15:
                    continue
                hid = 100 + k + (50 if k == 0 and f > n_frames // 2 else 0)  # pedestrian 1 switches ids halfway
                jitter = rng.normal(0, 3, 4)
            else:
                if rng.uniform() < 0.1:
                    continue
                hid, jitter = 300 + k, rng.normal(0, 2, 4)
            res.append((f, hid, x + jitter[0], y0 + jitter[1], w + jitter[2], h + jitter[3], 0.9))
    for f in range(1, n_frames + 1):
        res.append((f, 900 + f % 4, 100.0 + 37 * f, 700.0, 50.0, 120.0, 0.5))
    return np.asarray(gt), np.asarray(res)


def write_case(root: Path, seqs: dict[str, tuple[np.ndarray, np.ndarray]], gt_writer=write_gt) -> tuple[Path, Path]:
    gt_root, res_dir = root / "gt", root / "res"
    for name, (gt, res) in seqs.items():
        gt_writer(gt_root / name / "gt" / "gt.txt", gt)
        write_seqinfo(gt_root / name, SeqInfo(name=name, length=N_FRAMES, width=1920, height=1080, fps=30.0))
        write_results(res_dir / f"{name}.txt", res)
    return gt_root, res_dir


def write_mot15_gt(path: Path, gt: np.ndarray) -> None:
    """MOT15's 10-column gt: frame,id,x,y,w,h,conf,-1,-1,-1 (no class, no visibility)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{int(r[6])},-1,-1,-1\n"
                            for r in gt))


MOT17_OTHERS = [(2, 0), (7, 1), (7, 0), (8, 0), (12, 0), (6, 0), (3, 0), (9, 0), (13, 0)]  # MOT16/17 gt classes
MOT20_OTHERS = [(2, 0), (6, 0), (6, 1), (7, 0), (8, 0), (12, 0)]  # the classes MOT20's gt holds (1, 2, 6, 7, 8, 12)


def summary(m: pd.DataFrame) -> str:
    c = m.loc["COMBINED"]
    return (f"HOTA {100 * c['HOTA']:.2f} MOTA {100 * c['MOTA']:.2f} IDF1 {100 * c['IDF1']:.2f} FP {c['FP']} "
            f"FN {c['FN']} IDs {c['IDs']} GT_Dets {c['GT_Dets']} Dets {c['Dets']}")


# ------------------------------------------------------------------------------------------------ per benchmark


def test_mot15_equals_trackeval_on_the_tud_files_and_zero_marked_rows(tmp_path: Path) -> None:
    """Real MOT15 gt (TUD-Campus: -1 columns; TUD-Stadtmitte: world coordinates) with py-motmetrics' tracker output,
    plus KITTI-17-named MOT15-format gt with zero-marked rows and class-less boxes the results hit."""
    gt_root, res_dir = tmp_path / "gt", tmp_path / "res"
    res_dir.mkdir()
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        (gt_root / seq / "gt").mkdir(parents=True)
        shutil.copyfile(TUD / seq / "gt.txt", gt_root / seq / "gt" / "gt.txt")
        shutil.copyfile(TUD / seq / "test.txt", res_dir / f"{seq}.txt")
        gt = load_rows(gt_root / seq / "gt" / "gt.txt", "gt").rows
        res = load_rows(res_dir / f"{seq}.txt", "results").rows
        length = int(max(gt[:, 0].max(), res[:, 0].max()))
        write_seqinfo(gt_root / seq, SeqInfo(name=seq, length=length, width=640, height=480, fps=25.0))
    gt, res = scene(1, [(1, 0), (1, 0)])
    write_mot15_gt(gt_root / "KITTI-17" / "gt" / "gt.txt", gt)
    write_seqinfo(gt_root / "KITTI-17", SeqInfo(name="KITTI-17", length=N_FRAMES, width=1920, height=1080, fps=10))
    write_results(res_dir / "KITTI-17.txt", res)
    seqs = ["KITTI-17", "TUD-Campus", "TUD-Stadtmitte"]

    result = evaluate(res_dir, gt_root)  # auto: MOT15's sequence names, gt without classes
    assert result.benchmark == "MOT15" and "sequence names" in result.benchmark_reason
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, res_dir, seqs, "MOT15"))
    zero = int((gt[:, 6] == 0).sum())
    assert result.metrics.loc["KITTI-17", "GT_Dets"] == len(gt) - zero  # conf-0 rows are not gt ...
    assert result.metrics.loc["KITTI-17", "Dets"] == len(res)  # ... and boxes on them stay (no preprocessing)
    print("MOT15", summary(result.metrics))


@pytest.mark.parametrize("benchmark, names, others", [
    ("MOT16", ["MOT16-02", "MOT16-04"], MOT17_OTHERS),
    ("MOT17", ["MOT17-02-FRCNN", "MOT17-04-FRCNN"], MOT17_OTHERS),
    ("MOT20", ["MOT20-01", "MOT20-02"], MOT20_OTHERS),
])
def test_mot16_17_20_equal_trackeval_with_their_benchmark(tmp_path: Path, benchmark: str, names: list[str],
                                                           others: list[tuple[int, int]]) -> None:
    gt_root, res_dir = write_case(tmp_path, {n: scene(i + 2, others) for i, n in enumerate(names)})
    result = evaluate(res_dir, gt_root)  # auto: the names say which benchmark
    assert result.benchmark == benchmark
    assert result.benchmark_reason.startswith(f"benchmark {benchmark} (auto): sequence names")
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, res_dir, names, benchmark))
    print(benchmark, summary(result.metrics))

    # the rules did something: distractor matches removed, only conf-1 pedestrians are gt
    m = result.metrics.loc["COMBINED"]
    gts = [load_rows(gt_root / n / "gt" / "gt.txt", "gt").rows for n in names]
    assert m["GT_Dets"] == sum(int(((g[:, 7] == 1) & (g[:, 6] == 1)).sum()) for g in gts)
    plain = evaluate(res_dir, gt_root, benchmark="none").metrics.loc["COMBINED"]
    assert m["Dets"] < plain["Dets"] and m["GT_Dets"] < plain["GT_Dets"]
    # class 6 (non-motorized vehicle): a distractor in MOT20 only, so the two give different FP on these files
    other = evaluate(res_dir, gt_root, benchmark="MOT17" if benchmark == "MOT20" else "MOT20").metrics
    assert (other.loc["COMBINED", "FP"] > m["FP"]) == (benchmark == "MOT20")
    assert other.loc["COMBINED", "FP"] != m["FP"]


def test_dancetrack_equals_trackeval_as_dancetrack_runs_it(tmp_path: Path) -> None:
    """DanceTrack's gt is 1,1,1 (conf, class, visibility) on every row; its README runs TrackEval's
    run_mot_challenge.py with the default settings (BENCHMARK MOT17, preprocessing on)."""
    names = ["dancetrack0004", "dancetrack0005"]
    cases = {}
    for i, n in enumerate(names):
        gt, res = scene(10 + i, [], zero_marked=False)
        gt[:, 8] = 1.0
        cases[n] = (gt, res)
    gt_root, res_dir = write_case(tmp_path, cases)
    result = evaluate(res_dir, gt_root)
    assert result.benchmark == "DanceTrack" and "dancetrack0004" in result.benchmark_reason
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, res_dir, names, "MOT17"))
    # and as mmtracking runs it (BENCHMARK='DanceTrack'): the same rules
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, res_dir, names, "DanceTrack",
                                                             work=tmp_path / "mmtrack"))
    print("DanceTrack", summary(result.metrics))


def test_dancetrack_setting_on_gt_with_other_classes_applies_mot17_rules(tmp_path: Path) -> None:
    gt_root, res_dir = write_case(tmp_path, {"dancetrack0007": scene(12, MOT17_OTHERS)})
    result = evaluate(res_dir, gt_root, benchmark="dancetrack")  # case-insensitive, as --benchmark takes it
    assert result.benchmark == "DanceTrack"
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, res_dir, ["dancetrack0007"], "MOT17"))


def test_none_equals_trackeval_without_preprocessing(tmp_path: Path) -> None:
    others = MOT20_OTHERS + [(3, 1), (11, 1)]
    names = ["CAM-A", "CAM-B"]
    gt_root, res_dir = write_case(tmp_path, {n: scene(20 + i, others) for i, n in enumerate(names)})
    result = evaluate(res_dir, gt_root, benchmark="none")
    assert result.benchmark == "none"
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, res_dir, names, "MOT17", do_preproc=False))
    m = result.metrics.loc["COMBINED"]
    gts = [load_rows(gt_root / n / "gt" / "gt.txt", "gt").rows for n in names]
    assert m["GT_Dets"] == sum(int((g[:, 6] != 0).sum()) for g in gts)  # every class kept, conf 0 dropped
    print("none", summary(result.metrics))


# ------------------------------------------------------------------------------------------------ auto, or ask


def test_auto_without_names_uses_the_gt_and_asks_when_class_6_decides(tmp_path: Path) -> None:
    gt_root, res_dir = write_case(tmp_path / "a", {"CAM-A": scene(30, [(7, 0), (2, 0)])})
    result = evaluate(res_dir, gt_root)
    assert result.benchmark == "MOT17" and "MOT16, MOT17 and MOT20 rules agree" in result.benchmark_reason
    gt_root, res_dir = write_case(tmp_path / "b", {"CAM-A": scene(30, [(6, 0)])})
    with pytest.raises(BenchError, match="cannot tell the benchmark") as info:
        evaluate(res_dir, gt_root)
    assert "suite.benchmark" in info.value.hint and "--benchmark" in info.value.hint
    assert evaluate(res_dir, gt_root, benchmark="MOT20").benchmark == "MOT20"


def test_names_of_two_benchmarks_or_names_against_the_gt_ask(tmp_path: Path) -> None:
    gt_root, res_dir = write_case(tmp_path / "a", {"MOT17-02-FRCNN": scene(31, []), "MOT20-01": scene(32, [])})
    with pytest.raises(BenchError, match="different benchmarks"):
        evaluate(res_dir, gt_root)
    gt, res = scene(33, [])
    gt_root, res_dir = write_case(tmp_path / "b", {"MOT20-03": (gt, res)}, gt_writer=write_mot15_gt)
    with pytest.raises(BenchError, match="MOT20's rules need classes"):
        evaluate(res_dir, gt_root)
    assert evaluate(res_dir, gt_root, benchmark="MOT15").benchmark == "MOT15"


# ------------------------------------------------------------------------------------------------ gt format (27.3)


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines))
    return path


def test_eight_column_gt_with_classes_is_mot17_not_mot15(tmp_path: Path) -> None:
    """Issue 27: an 8-column MOT17 gt (class, no visibility) was scored as MOT15 (every class counted as gt)."""
    seq = "MOT17-09-FRCNN"
    gt, res = scene(40, MOT17_OTHERS)
    lines = [f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{int(r[6])},{int(r[7])}" for r in gt]
    gt_root = tmp_path / "gt"
    _write_lines(gt_root / seq / "gt" / "gt.txt", lines)
    write_seqinfo(gt_root / seq, SeqInfo(name=seq, length=N_FRAMES, width=1920, height=1080, fps=30.0))
    write_results(tmp_path / "res" / f"{seq}.txt", res)
    fmt = gt_format(load_rows(gt_root / seq / "gt" / "gt.txt", "gt"))
    assert fmt.kind == "classes" and fmt.visibility is None and 7 in fmt.classes
    result = evaluate(tmp_path / "res", gt_root)
    assert result.benchmark == "MOT17"
    assert_same_metrics(result.metrics, trackeval_standalone(gt_root, tmp_path / "res", [seq], "MOT17"))
    as_mot15 = evaluate(tmp_path / "res", gt_root, benchmark="MOT15").metrics
    assert as_mot15.loc[seq, "MOTA"] != result.metrics.loc[seq, "MOTA"]  # what the first-row guess gave


def test_visibility_in_percent_is_read_as_percent(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "gt.txt", ["1,1,10,10,20,40,1,1,100", "2,1,11,10,20,40,1,1,35.5",
                                              "3,1,12,10,20,40,1,1,0"])
    fmt = gt_format(load_rows(path, "gt"))
    assert (fmt.kind, fmt.visibility) == ("classes", "percent")
    path = _write_lines(tmp_path / "gt2.txt", ["1,1,10,10,20,40,1,1,1", "2,1,11,10,20,40,1,1,0.355"])
    assert gt_format(load_rows(path, "gt")).visibility == "fraction"
    path = _write_lines(tmp_path / "gt3.txt", ["1,1,10,10,20,40,1,1,0.5", "2,1,11,10,20,40,1,1,140"])
    with pytest.raises(BenchError, match="visibility 140") as info:
        gt_format(load_rows(path, "gt"))
    assert info.value.line == 2


def test_percent_visibility_bins_the_occlusion_tables_as_fractions(tmp_path: Path) -> None:
    from bench.evaluate.occlusion import analyse_occlusion

    gt, res = scene(41, [(7, 0)])
    pct = gt.copy()
    pct[:, 8] = np.round(gt[:, 8] * 100, 2)
    gt[:, 8] = pct[:, 8] / 100  # the same visibilities, to the precision both files hold
    gt_root, res_dir = write_case(tmp_path / "frac", {"SEQ": (gt, res)})
    pct_root, pct_res = write_case(tmp_path / "pct", {"SEQ": (pct, res)})
    a = analyse_occlusion({"t": res_dir}, gt_root, ["SEQ"])
    b = analyse_occlusion({"t": pct_res}, pct_root, ["SEQ"])
    assert a is not None and b is not None
    pd.testing.assert_frame_equal(a.by_visibility, b.by_visibility)
    assert a.by_visibility["gt_boxes"].gt(0).sum() >= 3  # boxes spread over the bins, not all in one


def test_first_row_alone_looking_mot15_is_an_error_naming_the_lines(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "SEQ" / "gt" / "gt.txt",
                        ["1,1,10,10,20,40,1,-1,-1", "1,2,50,10,20,40,1,1,0.8", "2,2,51,10,20,40,0,7,0.8"])
    with pytest.raises(BenchError, match="mixed gt rows: line 1 has class -1 but this line has class 1") as info:
        gt_format(load_rows(path, "gt"))
    assert info.value.line == 2 and "--benchmark" in info.value.hint and "suite.benchmark" in info.value.hint
    with pytest.raises(BenchError, match="mixed gt rows"):
        detect_benchmark(tmp_path, ["SEQ"])
    # the whole file, not its first row: a MOT17 file whose first row is MOT15-like is refused above, one whose
    # later row is -1 too
    path = _write_lines(tmp_path / "gt2.txt", ["1,1,10,10,20,40,1,1,0.8", "1,2,50,10,20,40,1,-1,-1"])
    with pytest.raises(BenchError, match="mixed gt rows") as info:
        gt_format(load_rows(path, "gt"))
    assert info.value.line == 2


def test_class_column_with_other_values_is_world_coordinates_only_in_ten_columns(tmp_path: Path) -> None:
    tud = gt_format(load_rows(TUD / "TUD-Stadtmitte" / "gt.txt", "gt"))
    assert tud.kind == "world"
    assert gt_format(load_rows(TUD / "TUD-Campus" / "gt.txt", "gt")).kind == "no-classes"
    path = _write_lines(tmp_path / "gt.txt", ["1,1,10,10,20,40,1,1,0.8", "2,1,11,10,20,40,1,4.5,0.8"])
    with pytest.raises(BenchError, match="class 4.5 is neither") as info:
        gt_format(load_rows(path, "gt"))
    assert info.value.line == 2 and "MOT15 or none" in info.value.hint


def test_choose_says_what_and_why_in_one_line() -> None:
    for reason in (choose("MOT20", ["X"], [], "suite.benchmark").reason,
                   choose(None, ["SEQ"], []).reason):
        assert "\n" not in reason and reason.startswith("benchmark ")
    assert choose("MOT20", ["X"], [], "suite.benchmark").reason == "benchmark MOT20: set by suite.benchmark"
    with pytest.raises(BenchError, match="unknown benchmark 'MOT99'"):
        choose("MOT99", [], [])


# ------------------------------------------------------------------------------------------------ config and CLI


def test_suite_benchmark_is_a_typed_config_key(tmp_path: Path) -> None:
    assert load_config(None, ["suite.benchmark=MOT20"]).suite.benchmark == "MOT20"
    assert load_config(None, []).suite.benchmark == "auto"
    with pytest.raises(BenchError, match="suite.benchmark = 'MOT99' is not a valid choice") as info:
        load_config(None, ["suite.benchmark=MOT99"])
    assert "DanceTrack" in info.value.hint and "none" in info.value.hint
    with pytest.raises(BenchError, match="unknown key 'suite.benchmrk'"):
        load_config(None, ["suite.benchmrk=MOT20"])
    a, b = load_config(None, ["suite.benchmark=MOT20"]), load_config(None, ["suite.benchmark=MOT17"])
    assert a.hash() != b.hash()  # it decides the numbers, so it keys run folders


def test_eval_benchmark_flag_and_config_key_are_one_setting(tmp_path: Path) -> None:
    from tests.test_cli import bench

    gt_root, res_dir = write_case(tmp_path, {"CAM-A": scene(50, MOT20_OTHERS)})
    out = bench("eval", str(res_dir), "--gt", str(gt_root), check=False)
    assert out.returncode == 2 and "cannot tell the benchmark" in out.stderr and "Traceback" not in out.stderr
    out = bench("eval", str(res_dir), "--gt", str(gt_root), "--benchmark", "mot20", "--json", str(tmp_path / "a.json"))
    assert "benchmark MOT20: set by --benchmark" in out.stdout
    config = tmp_path / "bench.toml"
    config.write_text('[suite]\nbenchmark = "MOT20"\n')
    out = bench("eval", str(res_dir), "--gt", str(gt_root), "--config", str(config), "--json", str(tmp_path / "b.json"))
    assert "benchmark MOT20: set by suite.benchmark" in out.stdout
    a, b = (json.loads((tmp_path / f"{x}.json").read_text()) for x in "ab")
    assert a["benchmark"] == b["benchmark"] == "MOT20" and a["metrics"] == b["metrics"]
    out = bench("eval", str(res_dir), "--gt", str(gt_root), "--benchmark", "MOT99", check=False)
    assert out.returncode == 2 and "unknown benchmark 'MOT99'" in out.stderr


# ------------------------------------------------------------------------------------------------ suites end to end


def _dets_from(gt: np.ndarray, seed: int) -> np.ndarray:
    """Detections (frame, x1, y1, x2, y2, score) on every gt box whatever its class, jittered, 10 % missed."""
    rng = np.random.default_rng(seed)
    keep = gt[rng.uniform(size=len(gt)) > 0.1]
    j = rng.normal(0, 2, (len(keep), 4))
    x, y, w, h = keep[:, 2] + j[:, 0], keep[:, 3] + j[:, 1], keep[:, 4] + j[:, 2], keep[:, 5] + j[:, 3]
    return np.column_stack([keep[:, 0], x, y, x + w, y + h, np.full(len(keep), 0.9)])


def _mot20_folder(root: Path) -> list[str]:
    from bench.data.mot_io import write_detections

    names = ["MOT20-01", "MOT20-02"]
    for i, n in enumerate(names):
        gt, _ = scene(60 + i, MOT20_OTHERS)
        write_gt(root / n / "gt" / "gt.txt", gt)
        write_detections(root / n / "det" / "det.txt", _dets_from(gt, i))
        write_seqinfo(root / n, SeqInfo(name=n, length=N_FRAMES, width=1920, height=1080, fps=25.0))
    return names


def _cfg(tmp_path: Path, *extra: str):
    return load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", f"paths.results='{tmp_path / 'results'}'",
                              "run.jobs=1", "run.device='cpu'", *extra])


def test_mot20_folder_suite_is_scored_and_reported_as_mot20(tmp_path: Path) -> None:
    """Issue 31: `bench run --suite DIR` on a MOT20 folder used MOT17's rules and recorded MOT17."""
    import functools

    from bench.commands.compare import compare_folders
    from bench.commands.run import run_suite
    from bench.data.suites import load_suite
    from bench.present.report import write_report

    root = tmp_path / "MOT20"
    names = _mot20_folder(root)
    cfg = _cfg(tmp_path)
    suite = load_suite(str(root), cfg)
    assert suite.benchmark == "MOT20" and suite.benchmark_reason.startswith("benchmark MOT20 (auto): sequence names")
    result = run_suite(cfg, suite, ["bytetrack"], run_id="m20", finish=functools.partial(write_report, primary="HOTA"))
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["suite"]["benchmark"] == "MOT20" and manifest["suite"]["benchmark_reason"] == suite.benchmark_reason
    ours = result.metrics[result.metrics["tracker"] == "bytetrack"].set_index("seq")
    theirs = trackeval_standalone(root, result.run_dir / "bytetrack", names, "MOT20", work=tmp_path / "te")
    assert_same_metrics(ours, theirs)
    report = (result.run_dir / "report.md").read_text()
    assert report.splitlines()[0] == "# bench report: MOT20 (MOT20 protocol)"
    published = report[report.index("## Published results"):]
    assert "| MOT20 " in published and "| MOT17 " not in published and "| DanceTrack " not in published
    print("run MOT20", summary(ours))

    # the same folder with suite.benchmark = MOT17: recorded as such, and the class-6 boxes are false positives
    cfg17 = _cfg(tmp_path, "suite.benchmark='MOT17'")
    suite17 = load_suite(str(root), cfg17)
    assert (suite17.benchmark, suite17.benchmark_reason) == ("MOT17", "benchmark MOT17: set by suite.benchmark")
    r17 = run_suite(cfg17, suite17, ["bytetrack"], run_id="m17")
    assert r17.manifest["suite"]["benchmark"] == "MOT17"
    assert r17.combined("bytetrack")["FP"] > result.combined("bytetrack")["FP"]
    print("run MOT20 folder as MOT17", summary(r17.metrics[r17.metrics["tracker"] == "bytetrack"].set_index("seq")))

    # bench compare on the same results decides the same way
    cmp = compare_folders({"bt": result.run_dir / "bytetrack"}, root, tmp_path / "results", run_id="cmp")
    assert cmp.manifest["suite"]["benchmark"] == "MOT20"
    assert_same_metrics(cmp.metrics[cmp.metrics["tracker"] == "bt"].set_index("seq"), theirs)


def _dancetrack_tree(root: Path, width: int = 960, height: int = 544) -> dict[str, np.ndarray]:
    """DanceTrack's layout: train/, val/, test/ (no gt), dancetrackNNNN, 20 fps, 8-digit .jpg frames, no det/.
    Returns the detections (frame, x1, y1, x2, y2, score) of each tracked sequence."""
    from PIL import Image

    dets = {}
    layout = {"train": ["dancetrack0001"], "val": ["dancetrack0004", "dancetrack0005"], "test": ["dancetrack0003"]}
    for split, names in layout.items():
        for n in names:
            seed = int(n[-4:])
            gt, _ = scene(seed, [], zero_marked=False)
            gt[:, 8] = 1.0
            d = root / split / n
            (d / "img1").mkdir(parents=True)
            for f in range(1, N_FRAMES + 1):
                Image.new("RGB", (width, height), (seed * 20 % 255, f * 8, 90)).save(d / "img1" / f"{f:08d}.jpg")
            write_seqinfo(d, SeqInfo(name=n, length=N_FRAMES, width=width, height=height, fps=20.0, im_ext=".jpg"))
            if split != "test":
                write_gt(d / "gt" / "gt.txt", gt)
            dets[n] = _dets_from(gt, seed)
    return dets


def test_dancetrack_runs_with_detections_from_files(tmp_path: Path) -> None:
    from bench.commands.run import run_suite
    from bench.data.mot_io import write_detections
    from bench.data.suites import load_suite

    root = tmp_path / "DanceTrack"
    dets = _dancetrack_tree(root)
    suite = load_suite(str(root), _cfg(tmp_path))
    assert suite.benchmark == "DanceTrack"
    (val,) = [s for s in suite.split("val") if s.name == "dancetrack0004"]
    assert val.info.fps == 20.0 and val.image_path(7) == val.path / "img1" / "00000007.jpg" and val.image_path(7).is_file()

    # the default source: one error naming both ways to get detections, and no run folder
    with pytest.raises(BenchError, match="no public detections") as info:
        run_suite(_cfg(tmp_path), suite, ["bytetrack"], run_id="public")
    assert "run.detections=files" in info.value.hint and "run.detections=yolox" in info.value.hint
    assert not (tmp_path / "results" / "public").exists()

    folder = tmp_path / "dets"
    for name, rows in dets.items():
        if name != "dancetrack0001":  # train sequences are not tracked
            write_detections(folder / f"{name}.txt", rows)
    cfg = _cfg(tmp_path, "run.detections='files'", f"detections.files.dir='{folder}'")
    result = run_suite(cfg, load_suite(str(root), cfg), ["bytetrack"], run_id="files")
    assert result.manifest["suite"]["benchmark"] == "DanceTrack"
    assert result.manifest["suite"]["test_sequences"] == ["dancetrack0003"]
    assert (result.run_dir / "test" / "bytetrack" / "dancetrack0003.txt").is_file()
    assert not (result.run_dir / "test" / "metrics.csv").exists()  # the test split has no gt
    ours = result.metrics[result.metrics["tracker"] == "bytetrack"].set_index("seq")
    theirs = trackeval_standalone(root / "val", result.run_dir / "bytetrack", ["dancetrack0004", "dancetrack0005"],
                                  "MOT17", work=tmp_path / "te")  # DanceTrack's README: run_mot_challenge defaults
    assert_same_metrics(ours, theirs)
    assert ours.loc["COMBINED", "HOTA"] > 0.5
    print("run DanceTrack (files)", summary(ours))


def test_dancetrack_runs_with_yolox_detections(tmp_path: Path) -> None:
    import torch

    from bench.commands.run import run_suite
    from bench.data.suites import load_suite
    from tests.test_yolox_source import nano_weights

    root = tmp_path / "DanceTrack"
    _dancetrack_tree(root, width=320, height=192)
    ckpt = tmp_path / "nano.pth"
    torch.save({"model": nano_weights(seed=1)}, ckpt)
    cfg = _cfg(tmp_path, "run.detections='yolox'", "detections.yolox.exp='yolox-nano'",
               f"detections.yolox.checkpoint='{ckpt}'", "detections.yolox.input_size=[192, 320]",
               "detections.yolox.conf_thresh=0.05", "detections.yolox.batch_size=8")
    result = run_suite(cfg, load_suite(str(root), cfg), ["bytetrack"], run_id="yolox")
    assert result.manifest["detections"]["source"] == "yolox"
    assert result.manifest["timings"]["detections"]["sequences"] == 3  # val and test: every frame read and detected
    ours = result.metrics[result.metrics["tracker"] == "bytetrack"].set_index("seq")
    theirs = trackeval_standalone(root / "val", result.run_dir / "bytetrack", ["dancetrack0004", "dancetrack0005"],
                                  "MOT17", work=tmp_path / "te")
    assert_same_metrics(ours, theirs)
    assert ours.loc["COMBINED", "Dets"] > 0  # the detector's boxes became tracks
