"""bench.evaluate.score: TrackEval scores, the py-motmetrics cross-check, and user-facing errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import bench.evaluate.score as ev
from bench.core.errors import BenchError
from bench.core.forked import can_fork
from bench.evaluate.score import evaluate, result_to_json
from bench.data.mot_io import SeqInfo, write_gt, write_results, write_seqinfo
from bench.data.benchmarks import detect_benchmark

DATA = Path(__file__).resolve().parent / "data"
TUD = DATA / "motmetrics-tud"
TUD_SEQS = ("TUD-Campus", "TUD-Stadtmitte")


# ------------------------------------------------------------------------------------------------ helpers


def _published_tud_values() -> dict[str, dict[str, float]]:
    """The expected-values table of the data README (py-motmetrics' published TUD numbers)."""
    lines = [ln.strip() for ln in (DATA / "README.md").read_text().splitlines()]
    header_at = next(i for i, ln in enumerate(lines) if ln.startswith("| seq |") and "IDF1" in ln)
    header = [c.strip() for c in lines[header_at].strip("|").split("|")]
    table: dict[str, dict[str, float]] = {}
    for ln in lines[header_at + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in ln.strip("|").split("|")]
        table[cells[0]] = {h: float(v) for h, v in zip(header[1:], cells[1:])}
    return table


def _tud_layout(tmp_path: Path) -> tuple[Path, Path]:
    gt_root, results = tmp_path / "gt", tmp_path / "results"
    results.mkdir()
    for seq in TUD_SEQS:
        (gt_root / seq / "gt").mkdir(parents=True)
        shutil.copyfile(TUD / seq / "gt.txt", gt_root / seq / "gt" / "gt.txt")
        shutil.copyfile(TUD / seq / "test.txt", results / f"{seq}.txt")
    return gt_root, results


def _walkers(n_frames: int = 20, n_people: int = 2, start_id: int = 1) -> np.ndarray:
    """MOT17-style gt (frame, id, x, y, w, h, conf, class, vis): people walking right, far apart."""
    rows = [(f, start_id + p, 10.0 + 4 * f + 300 * p, 50.0 + 5 * p, 40.0, 100.0, 1, 1, 1.0)
            for f in range(1, n_frames + 1) for p in range(n_people)]
    return np.asarray(rows, dtype=np.float64)


def _as_results(gt: np.ndarray) -> np.ndarray:
    """gt rows → result rows (frame, id, x, y, w, h, score)."""
    out = gt[:, :7].copy()
    out[:, 6] = 1.0
    return out


def _write_seq(gt_root: Path, results: Path, seq: str, gt: np.ndarray, res: np.ndarray,
               length: int | None = None) -> None:
    write_gt(gt_root / seq / "gt" / "gt.txt", gt)
    write_results(results / f"{seq}.txt", res.reshape(-1, 7))
    if length is not None:
        write_seqinfo(gt_root / seq, SeqInfo(name=seq, length=length, width=1920, height=1080, fps=30.0))


# ------------------------------------------------------------------------------------------------ published values


def test_tud_reproduces_py_motmetrics_published_values(tmp_path: Path) -> None:
    gt_root, results = _tud_layout(tmp_path)
    assert detect_benchmark(gt_root, list(TUD_SEQS)).name == "MOT15"
    result = evaluate(results, gt_root, benchmark="MOT15")
    published = _published_tud_values()
    assert set(published) == {*TUD_SEQS, "OVERALL"}
    # README column → our column. FM (motmetrics' fragmentations) is TrackEval's Frag; MOTP differs by definition:
    # motmetrics reports mean (1 − IoU) of matches, TrackEval mean IoU, so ours must equal 1 − published.
    same_name = {"IDF1": "IDF1", "IDP": "IDP", "IDR": "IDR", "Rcll": "Rcll", "Prcn": "Prcn", "MT": "MT", "PT": "PT",
                 "ML": "ML", "FP": "FP", "FN": "FN", "IDsw": "IDs", "FM": "Frag", "MOTA": "MOTA"}
    for seq, expected in published.items():
        row = result.metrics.loc["COMBINED" if seq == "OVERALL" else seq]
        for theirs, ours in same_name.items():
            assert row[ours] == pytest.approx(expected[theirs], abs=1e-3), (seq, ours)
        assert 1.0 - row["MOTP"] == pytest.approx(expected["MOTP"], abs=1e-3), seq
    assert list(result.metrics.index) == [*TUD_SEQS, "COMBINED"]
    assert result.metrics.index.name == "seq"
    assert result.disagreements == [] and result.agrees
    assert result.crosscheck["agree"].all()
    assert (result.crosscheck["max_abs_diff"] <= 1e-6).all()
    # motmetrics really scored the same thing (not two copies of TrackEval's numbers)
    assert result.crosscheck.loc["COMBINED", "IDs_motmetrics"] == published["OVERALL"]["IDsw"]


def test_tud_with_mot15_detection_and_all_columns(tmp_path: Path) -> None:
    gt_root, results = _tud_layout(tmp_path)
    result = evaluate(results, gt_root)  # benchmark detected: Stadtmitte's gt has world coordinates, Campus -1s
    assert result.benchmark == "MOT15"
    for col in ("HOTA", "DetA", "AssA", "LocA", "DetRe", "DetPr", "AssRe", "AssPr", "MOTA", "MOTP", "IDF1", "IDP",
                "IDR", "IDs", "Frag", "FP", "FN", "TP", "MT", "PT", "ML", "GT_IDs", "GT_Dets", "Dets"):
        assert col in result.metrics.columns, col
    m = result.metrics
    assert m["IDs"].dtype.kind == "i" and m["GT_Dets"].dtype.kind == "i" and m["HOTA"].dtype.kind == "f"
    assert ((m["HOTA"] > 0) & (m["HOTA"] < 1)).all()
    # HOTA is (alpha-averaged) geometric mean of DetA and AssA per alpha, so it lies between them on average
    assert (m["HOTA"] <= np.maximum(m["DetA"], m["AssA"]) + 1e-9).all()
    assert m.loc["COMBINED", "GT_Dets"] == m.loc[list(TUD_SEQS), "GT_Dets"].sum()
    assert (m["TP"] + m["FN"] == m["GT_Dets"]).all() and (m["TP"] + m["FP"] == m["Dets"]).all()
    payload = json.loads(json.dumps(result_to_json(result), allow_nan=False))
    assert payload["benchmark"] == "MOT15" and payload["agrees"] is True
    assert payload["metrics"]["COMBINED"]["IDs"] == 14 and isinstance(payload["metrics"]["COMBINED"]["IDs"], int)
    assert payload["crosscheck"]["TUD-Campus"]["agree"] is True


# ------------------------------------------------------------------------------------------------ synthetic trackers


def test_perfect_tracker_scores_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = _walkers()
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt), length=25)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = evaluate(tmp_path / "res", tmp_path / "gt")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # TrackEval wrote nothing
    assert capsys.readouterr() == ("", "")  # and printed nothing
    assert result.benchmark == "MOT17"
    row = result.metrics.loc["SEQ-A"]
    for col in ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "MOTP"):
        assert row[col] == pytest.approx(1.0, abs=1e-9), col
    assert row["IDs"] == 0 and row["FP"] == 0 and row["FN"] == 0 and row["GT_Dets"] == len(gt)
    assert row["Frames"] == 25  # from seqinfo.ini, not from the last frame with boxes
    assert result.agrees


def test_id_swap_lowers_association_and_counts_switches(tmp_path: Path) -> None:
    gt = _walkers(n_frames=20)
    swapped = _as_results(gt)
    late = swapped[:, 0] > 10
    swapped[late, 1] = 3 - swapped[late, 1]  # ids 1 <-> 2 from frame 11 on
    _write_seq(tmp_path / "gt", tmp_path / "res", "PERFECT", gt, _as_results(gt))
    _write_seq(tmp_path / "gt", tmp_path / "res", "SWAP", gt, swapped)
    result = evaluate(tmp_path / "res", tmp_path / "gt")
    perfect, swap = result.metrics.loc["PERFECT"], result.metrics.loc["SWAP"]
    assert swap["IDs"] >= 1
    assert swap["AssA"] < perfect["AssA"] - 0.1
    assert swap["IDF1"] < perfect["IDF1"] - 0.1
    assert swap["HOTA"] < perfect["HOTA"]
    assert swap["DetA"] == pytest.approx(perfect["DetA"])  # same boxes, only identities differ
    assert result.metrics.loc["COMBINED", "IDs"] == swap["IDs"]
    assert result.crosscheck.loc["SWAP", "IDs_motmetrics"] == swap["IDs"]
    assert result.agrees


def test_empty_result_file_scores_all_misses(tmp_path: Path) -> None:
    gt = _walkers(n_frames=12, n_people=3)
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, np.zeros((0, 7)))
    assert (tmp_path / "res" / "SEQ-A.txt").stat().st_size == 0
    result = evaluate(tmp_path / "res", tmp_path / "gt")
    row = result.metrics.loc["SEQ-A"]
    assert row["MOTA"] <= 0 and row["FN"] == len(gt) and row["Dets"] == 0 and row["TP"] == 0
    assert row["HOTA"] == 0 and row["IDF1"] == 0
    assert result.agrees


def test_blank_lines_and_frames_without_boxes(tmp_path: Path) -> None:
    """Blank lines (fine for bench.data.mot_io, fatal for TrackEval's csv reader) and box-less frames evaluate fine."""
    gt = _walkers(n_frames=30)
    gt = gt[(gt[:, 0] < 8) | (gt[:, 0] > 15)]  # frames 8-15 have no gt at all
    res = _as_results(gt)
    res = res[(res[:, 0] != 3) & (res[:, 0] != 20)]  # the tracker misses two frames entirely
    gt_root, clean, messy = tmp_path / "gt", tmp_path / "clean", tmp_path / "messy"
    _write_seq(gt_root, clean, "SEQ-A", gt, res, length=40)
    messy.mkdir()
    lines = (clean / "SEQ-A.txt").read_text().splitlines()
    (messy / "SEQ-A.txt").write_text("\n" + "\n".join(lines[:5]) + "\n\n  \n" + "\n".join(lines[5:]) + "\n\n")
    a, b = evaluate(clean, gt_root), evaluate(messy, gt_root)
    assert a.metrics.equals(b.metrics)
    assert a.metrics.loc["SEQ-A", "FN"] == 4 and a.metrics.loc["SEQ-A", "FP"] == 0
    assert a.metrics.loc["SEQ-A", "Frames"] == 40
    (messy / "SEQ-A.txt").write_text("\n\n")  # blank lines only: an empty result
    assert evaluate(messy, gt_root).metrics.loc["SEQ-A", "FN"] == len(gt)


def test_sequence_without_gt_boxes(tmp_path: Path) -> None:
    """No gt at all (seqinfo.ini gives the length; without it a result row would be an error): motmetrics' MOTA is undefined (x/0), TrackEval's is 0 per sequence (its early return) and −FP
    combined — not a disagreement, but not an agreement either: MOTA is listed as unchecked, the counts are still
    compared, and a warning states the COMBINED effect."""
    _write_seq(tmp_path / "gt", tmp_path / "res", "EMPTY", np.zeros((0, 9)), _as_results(_walkers(n_frames=3)), 3)
    reporter = _Collect()
    result = evaluate(tmp_path / "res", tmp_path / "gt", benchmark="MOT17", reporter=reporter, tracker_name="t")
    row = result.metrics.loc["EMPTY"]
    assert row["FP"] == 6 and row["GT_Dets"] == 0 and row["MOTA"] <= 0
    assert result.metrics.loc["COMBINED", "MOTA"] == -6
    assert not np.isfinite(result.crosscheck.loc["EMPTY", "MOTA_motmetrics"])
    assert result.crosscheck.loc["EMPTY", "FP_motmetrics"] == 6
    assert result.crosscheck.loc["EMPTY", "unchecked"] == "MOTA"
    assert result.agrees
    assert result_to_json(result)["crosscheck"]["EMPTY"]["MOTA_motmetrics"] is None
    text, ok = ev.crosscheck.summary_line(result.crosscheck, "x.csv")
    assert ok and "MOTA not checkable on 1 without gt objects" in text
    assert len(reporter.lines) == 1 and "1 of 1 sequences have no gt objects (EMPTY)" in reporter.lines[0]
    assert "6 tracker boxes all count as false positives" in reporter.lines[0]
    assert "COMBINED MOTA -600.0" in reporter.lines[0]


def test_sequence_without_gt_boxes_beside_others_states_its_combined_effect(tmp_path: Path) -> None:
    gt = _walkers()
    _write_seq(tmp_path / "gt", tmp_path / "res", "FULL", gt, _as_results(gt))
    _write_seq(tmp_path / "gt", tmp_path / "res", "EMPTY", np.zeros((0, 9)), _as_results(_walkers(n_frames=3)), 3)
    reporter = _Collect()
    result = evaluate(tmp_path / "res", tmp_path / "gt", benchmark="MOT17", reporter=reporter, tracker_name="t")
    alone = evaluate(tmp_path / "res", tmp_path / "gt", seqs=["FULL"], benchmark="MOT17")
    combined, full = result.metrics.loc["COMBINED"], alone.metrics.loc["COMBINED"]
    assert combined["MOTA"] < full["MOTA"] == 1.0
    (line,) = reporter.lines
    assert (f"COMBINED MOTA {100 * combined['MOTA']:.1f}, HOTA {100 * combined['HOTA']:.1f} with them; "
            f"{100 * full['MOTA']:.1f} and {100 * full['HOTA']:.1f} without them") in line


# ------------------------------------------------------------------------------------------------ MOT17 preprocessing


def _preproc_case(tmp_path: Path, distractor_class: int) -> tuple[Path, Path, int]:
    """Per frame: a pedestrian, a distractor-class box and a conf-0 pedestrian; the tracker boxes the first two."""
    frames = range(1, 11)
    ped = [(f, 1, 100.0 + f, 100.0, 40.0, 100.0, 1, 1, 1.0) for f in frames]
    other = [(f, 2, 400.0 + f, 100.0, 40.0, 100.0, 1, distractor_class, 1.0) for f in frames]
    ignored = [(f, 3, 700.0 + f, 100.0, 40.0, 100.0, 0, 1, 1.0) for f in frames]
    gt = np.asarray(ped + other + ignored)
    res = np.asarray([(f, 1, 100.0 + f, 100.0, 40.0, 100.0, 1.0) for f in frames]
                     + [(f, 7, 402.0 + f, 101.0, 40.0, 100.0, 1.0) for f in frames])
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, res)
    return tmp_path / "res", tmp_path / "gt", len(ped)


def test_mot17_tracker_box_on_distractor_is_not_a_false_positive(tmp_path: Path) -> None:
    results, gt_root, n_ped = _preproc_case(tmp_path, distractor_class=7)  # static person
    assert detect_benchmark(gt_root, ["SEQ-A"]).name == "MOT17"
    row = evaluate(results, gt_root).metrics.loc["SEQ-A"]
    assert row["FP"] == 0 and row["Dets"] == n_ped  # boxes on the static person were removed
    assert row["FN"] == 0 and row["GT_Dets"] == n_ped  # conf-0 pedestrian and distractor are not gt
    assert row["MOTA"] == pytest.approx(1.0)
    # Without preprocessing (MOT15 style) the same files count the distractor box as gt, conf-0 still ignored
    row15 = evaluate(results, gt_root, benchmark="MOT15").metrics.loc["SEQ-A"]
    assert row15["GT_Dets"] == 2 * n_ped and row15["Dets"] == 2 * n_ped and row15["TP"] == 2 * n_ped


def test_non_mot_vehicle_is_a_distractor_only_in_mot20(tmp_path: Path) -> None:
    results, gt_root, n_ped = _preproc_case(tmp_path, distractor_class=6)
    mot17 = evaluate(results, gt_root, benchmark="MOT17").metrics.loc["SEQ-A"]
    mot20 = evaluate(results, gt_root, benchmark="MOT20").metrics.loc["SEQ-A"]
    assert mot17["FP"] == n_ped and mot20["FP"] == 0


# ------------------------------------------------------------------------------------------------ cross-check


class _Collect:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)


def test_injected_disagreement_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    gt = _walkers()
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt))
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-B", gt, _as_results(gt))
    real = ev.crosscheck.summary

    def skewed(partials):  # motmetrics "says" something else for SEQ-B's IDF1
        summary = real(partials)
        summary.loc["SEQ-B", "IDF1"] -= 0.01
        return summary

    monkeypatch.setattr(ev.crosscheck, "summary", skewed)
    reporter = _Collect()
    result = evaluate(tmp_path / "res", tmp_path / "gt", tracker_name="mytracker", reporter=reporter)
    assert not result.agrees
    assert len(result.disagreements) == 1
    line = result.disagreements[0]
    assert "SEQ-B" in line and "IDF1" in line and "0.99" in line
    assert not result.crosscheck.loc["SEQ-B", "agree"] and result.crosscheck.loc["SEQ-A", "agree"]
    assert result.crosscheck.loc["SEQ-B", "max_abs_diff"] == pytest.approx(0.01)
    assert result.metrics.loc["SEQ-B", "IDF1"] == pytest.approx(1.0)  # reported numbers stay TrackEval's
    assert capfd.readouterr() == ("", "")  # the library prints nothing itself, nor per-line disagreements
    assert reporter.lines == []
    text, ok = ev.crosscheck.summary_line(result.crosscheck, "crosscheck.csv")  # what runs print: one line
    assert not ok and "DISAGREE" in text and "IDF1 agrees on 1 of 2 sequences" in text and "crosscheck.csv" in text
    assert result_to_json(result)["agrees"] is False
    evaluate(tmp_path / "res", tmp_path / "gt")  # default reporter: silent
    assert capfd.readouterr() == ("", "")


def test_missing_motmetrics_value_is_a_disagreement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gt = _walkers()
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt))
    real = ev.crosscheck.summary

    def nan_mota(partials):
        summary = real(partials)
        summary.loc["SEQ-A", "MOTA"] = np.nan  # undefined although there are gt boxes
        return summary

    monkeypatch.setattr(ev.crosscheck, "summary", nan_mota)
    result = evaluate(tmp_path / "res", tmp_path / "gt")
    assert any("SEQ-A" in line and "MOTA" in line for line in result.disagreements)


def _box_rows(boxes: list[tuple[int, int, float]], gt: bool) -> np.ndarray:
    """(frame, id, x) → 40×100 boxes at y=100; two such boxes dx apart have IoU (40 − dx) / (40 + dx)."""
    tail = (1, 1, 1.0) if gt else (1.0,)
    return np.asarray([(f, i, x, 100.0, 40.0, 100.0, *tail) for f, i, x in boxes], dtype=np.float64).reshape(
        -1, 9 if gt else 7)


def test_reacquisition_after_a_gap_is_a_known_definitional_difference(tmp_path: Path) -> None:
    """Reproduces why FP/FN/IDs differed on synth (crosscheck's docstring): after a gt went unmatched, motmetrics'
    own accumulator re-links it to its last-ever tracker id first; TrackEval (and the CLEAR MOT paper) only favour
    last frame's pairs, then IoU. bench's cross-check gives motmetrics the paper's rule: everything agrees.

    A sits at x=100, B at x=114. IoUs: same x 1.0, dx 4 → 0.818, dx 10 → 0.6, dx 14 → 0.48 (no match).
    """
    gt_root, res = tmp_path / "gt", tmp_path / "res"
    # REACQUIRE: X tracks A in frame 1, loses it in frames 2-3, and in frame 4 sits between A (0.6) and B (0.818)
    # while B's own track Y is missing. TrackEval gives X to B (max IoU: B switches Y→X, then X→Y in frame 5);
    # motmetrics re-links A to X (its frame-1 partner), B is missed, no switch at all. Same FP/FN, 2 vs 0 IDs.
    a = [(f, 1, 100.0) for f in range(1, 6)]
    b = [(f, 2, 114.0) for f in range(1, 6)]
    x = [(1, 1, 100.0), (4, 1, 110.0), (5, 1, 100.0)]
    y = [(f, 2, 114.0) for f in (1, 2, 3, 5)]
    _write_seq(gt_root, res, "REACQUIRE", _box_rows(a + b, gt=True), _box_rows(x + y, gt=False))
    # LOCK: A matched to X in frame 1, missed in frame 2; in frame 3 X overlaps A (0.6) and B (0.818), Y only A
    # (0.6). TrackEval takes both pairs A-Y, B-X (A switches X→Y); motmetrics locks A-X first, so B is missed and
    # Y is a false positive: one TP fewer, and FP/FN both one higher. Frame 2 needs some tracker box (Z, far off):
    # in a frame without any, TrackEval keeps the previous frame's pairs as "last frame" ones and would favour A-X.
    a = [(f, 1, 100.0) for f in range(1, 4)]
    _write_seq(gt_root, res, "LOCK", _box_rows(a + [(3, 2, 114.0)], gt=True),
               _box_rows([(1, 1, 100.0), (2, 3, 500.0), (3, 1, 110.0), (3, 2, 90.0)], gt=False))
    result = evaluate(res, gt_root)
    cc, m = result.crosscheck, result.metrics
    expected = {  # seq: {metric: (TrackEval, motmetrics' own accumulator)}
        "REACQUIRE": {"IDs": (2, 0), "FP": (0, 0), "FN": (3, 3), "MOTA": (0.5, 0.7)},
        "LOCK": {"IDs": (1, 0), "FP": (1, 2), "FN": (1, 2), "MOTA": (0.25, 0.0)},
    }
    own = _motmetrics_default_rule(res, gt_root)
    for seq, values in expected.items():
        for name, (te, mm_own) in values.items():
            assert m.loc[seq, name] == pytest.approx(te), (seq, name)  # reported numbers are TrackEval's
            assert cc.loc[seq, f"{name}_trackeval"] == pytest.approx(te), (seq, name)
            assert cc.loc[seq, f"{name}_motmetrics"] == pytest.approx(te), (seq, name)  # the paper's rule: agree
            assert own.loc[seq, name] == pytest.approx(mm_own), (seq, name)  # motmetrics' default rule: the cause
        assert cc.loc[seq, "IDF1_trackeval"] == pytest.approx(cc.loc[seq, "IDF1_motmetrics"], abs=1e-9)
        assert own.loc[seq, "IDF1"] == pytest.approx(cc.loc[seq, "IDF1_motmetrics"], abs=1e-9)
        assert cc.loc[seq, "agree"]
    assert m.loc["REACQUIRE", "IDF1"] == pytest.approx(14 / 17) and m.loc["LOCK", "IDF1"] == pytest.approx(0.5)
    assert result.disagreements == [] and result.agrees


def _motmetrics_default_rule(res: Path, gt_root: Path) -> "pd.DataFrame":
    """motmetrics' own MOTAccumulator and solver on the boxes TrackEval scored (what the cross-check used before)."""
    import motmetrics as mm

    from bench.evaluate import crosscheck, trackeval_adapter
    from bench.evaluate.inputs import load_inputs

    inputs = load_inputs(res, gt_root, None, None)
    partials = {}
    for seq in inputs.seqs:
        data = trackeval_adapter.preprocess(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq],
                                            inputs.benchmark, inputs.gts[seq], inputs.results[seq])
        acc = mm.MOTAccumulator(auto_id=True)
        for gt_ids, trk_ids, sim in zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"]):
            sim = np.asarray(sim, dtype=np.float64).reshape(len(gt_ids), len(trk_ids))
            acc.update(gt_ids, trk_ids, np.where(sim < crosscheck._MIN_IOU, np.nan, 1.0 - sim))
        partials[seq] = crosscheck.partial(acc)
    return crosscheck.summary(partials)


# ------------------------------------------------------------------------------------------------ errors


def test_malformed_result_line_names_file_and_line(tmp_path: Path) -> None:
    gt = _walkers(n_frames=3)
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt))
    path = tmp_path / "res" / "SEQ-A.txt"
    lines = path.read_text().splitlines()
    lines[2] = "2,1,abc,50,40,100,1,-1,-1,-1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BenchError) as info:
        evaluate(tmp_path / "res", tmp_path / "gt")
    assert info.value.path is not None and info.value.path.name == "SEQ-A.txt" and info.value.line == 3
    assert "SEQ-A.txt:3" in str(info.value)


def test_results_for_fewer_sequences_than_the_gt_is_an_error_unless_named(tmp_path: Path) -> None:
    gt = _walkers(n_frames=3)
    for seq in ("SEQ-A", "SEQ-B", "SEQ-C"):
        _write_seq(tmp_path / "gt", tmp_path / "res", seq, gt, _as_results(gt))
    (tmp_path / "res" / "SEQ-B.txt").unlink()
    (tmp_path / "res" / "SEQ-C.txt").unlink()
    with pytest.raises(BenchError, match="no results for 2 of 3 gt sequences: SEQ-B, SEQ-C") as info:
        evaluate(tmp_path / "res", tmp_path / "gt")
    assert "--seqs" in str(info.value)
    result = evaluate(tmp_path / "res", tmp_path / "gt", seqs=["SEQ-A"])  # the named subset alone is fine
    assert result.agrees and result.sequences == ["SEQ-A"] and list(result.metrics.index) == ["SEQ-A", "COMBINED"]
    assert result_to_json(result)["sequences"] == ["SEQ-A"]
    with pytest.raises(BenchError, match="SEQ-B.txt") as info:  # a named sequence needs its result file
        evaluate(tmp_path / "res", tmp_path / "gt", seqs=["SEQ-A", "SEQ-B"])
    assert info.value.path == (tmp_path / "res" / "SEQ-B.txt").resolve()
    _write_seq(tmp_path / "gt2", tmp_path / "res", "SEQ-B", gt, _as_results(gt))
    _write_seq(tmp_path / "gt2", tmp_path / "res", "SEQ-C", gt, _as_results(gt))
    _write_results_only = tmp_path / "res" / "SEQ-X.txt"
    _write_results_only.write_text("1,1,10,10,40,100,1,-1,-1,-1\n")
    with pytest.raises(BenchError, match="results without gt: SEQ-X.txt"):
        evaluate(tmp_path / "res", tmp_path / "gt")


def test_missing_gt_for_requested_sequence(tmp_path: Path) -> None:
    gt = _walkers(n_frames=3)
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt))
    with pytest.raises(BenchError, match=r"NOPE[/\\]gt[/\\]gt\.txt"):
        evaluate(tmp_path / "res", tmp_path / "gt", seqs=["NOPE"])


def test_inputs_trackeval_would_choke_on_name_the_line(tmp_path: Path) -> None:
    gt = _walkers(n_frames=5)
    res = _as_results(gt)
    res[4, 1] = res[5, 1]  # frame 3 now has the same id twice (rows 5 and 6 → lines 5 and 6)
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, res)
    with pytest.raises(BenchError, match="appears twice") as info:
        evaluate(tmp_path / "res", tmp_path / "gt")
    assert info.value.line == 6

    with pytest.raises(BenchError, match="unknown benchmark"):
        evaluate(tmp_path / "res", tmp_path / "gt", benchmark="MOT99")

    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt), length=4)
    with pytest.raises(BenchError, match="past the sequence end") as info:
        evaluate(tmp_path / "res", tmp_path / "gt")
    assert info.value.path.name == "gt.txt" and info.value.line == 9  # first frame-5 row of the gt


def test_mot17_gt_with_bad_class_is_not_silently_mot15(tmp_path: Path) -> None:
    gt = _walkers(n_frames=3)
    gt[3, 7] = 0  # class 0 does not exist in MOT17 (line 4)
    _write_seq(tmp_path / "gt", tmp_path / "res", "SEQ-A", gt, _as_results(gt))
    with pytest.raises(BenchError) as info:
        detect_benchmark(tmp_path / "gt", ["SEQ-A"])
    assert info.value.line == 4


# ------------------------------------------------------------------------------------------- parsing once, parallel


def test_trackeval_gets_what_its_own_reader_would_read(tmp_path: Path) -> None:
    """bench feeds TrackEval the rows it parsed; they equal TrackEval's own `_load_raw_file` output exactly."""
    import trackeval

    from bench.evaluate import trackeval_adapter
    from bench.evaluate.inputs import load_inputs

    gt_root, results = _tud_layout(tmp_path)
    gt = _walkers(n_frames=12, n_people=3)
    gt[::5, 6] = 0  # zero-marked boxes
    res = _as_results(gt)[::2]
    _write_seq(gt_root, results, "SEQ-MOT17", gt[np.lexsort((-gt[:, 1], gt[:, 0]))], res, length=15)
    for seq, benchmark in [("TUD-Campus", "MOT15"), ("TUD-Stadtmitte", "MOT15"), ("SEQ-MOT17", "MOT17")]:
        inputs = load_inputs(results, gt_root, [seq], benchmark)
        dataset = trackeval_adapter._dataset(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq],
                                             benchmark, inputs.gts[seq], inputs.results[seq])
        for is_gt in (True, False):
            theirs = trackeval.datasets.MotChallenge2DBox._load_raw_file(dataset, inputs.results_dir.name, seq,
                                                                         is_gt)
            ours = dataset._load_raw_file(inputs.results_dir.name, seq, is_gt)
            assert set(ours) == set(theirs), (seq, is_gt)
            for key, value in theirs.items():
                if isinstance(value, list):
                    assert len(value) == len(ours[key])
                    for a, b in zip(value, ours[key]):
                        a, b = (a["zero_marked"], b["zero_marked"]) if isinstance(a, dict) else (a, b)
                        assert np.array_equal(np.asarray(a, dtype=float).reshape(-1),
                                              np.asarray(b, dtype=float).reshape(-1)), (seq, key)
                else:
                    assert value == ours[key], (seq, key)


def test_parallel_scoring_gives_identical_results(tmp_path: Path) -> None:
    gt_root, results = _tud_layout(tmp_path)
    one = evaluate(results, gt_root, jobs=1)
    for jobs in (2, 4):  # per sequence, and per sequence and part
        many = evaluate(results, gt_root, jobs=jobs)
        assert many.metrics.equals(one.metrics) and many.crosscheck.equals(one.crosscheck), jobs
        assert many.disagreements == one.disagreements and many.sequences == one.sequences == list(TUD_SEQS)


# ------------------------------------------------------------------------------------------------ CLI


def _bench_cli(*args: str) -> "subprocess.CompletedProcess[str]":
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", *args], cwd=root,
                          capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "200"})


def test_cli_eval_needs_every_gt_sequence_unless_named(tmp_path: Path) -> None:
    gt_root, results = _tud_layout(tmp_path)
    (results / "TUD-Stadtmitte.txt").unlink()
    proc = _bench_cli("eval", str(results), "--gt", str(gt_root))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no results for 1 of 2 gt sequences: TUD-Stadtmitte" in proc.stderr.replace("\n", "")
    out = tmp_path / "m.json"
    proc = _bench_cli("eval", str(results), "--gt", str(gt_root), "--seqs", "TUD-Campus", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "COMBINED covers 1 sequences: TUD-Campus" in proc.stdout
    data = json.loads(out.read_text())
    assert data["sequences"] == ["TUD-Campus"] and set(data["metrics"]) == {"TUD-Campus", "COMBINED"}


def _in_a_terminal() -> None:
    """As a shell in a terminal starts a command: default SIGINT (a test runner's background job may ignore it)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig,whole_group", [("SIGINT", True), ("SIGINT", False), ("SIGTERM", False)])
def test_cli_eval_interrupted_while_workers_score_exits_130_and_leaves_no_worker(tmp_path: Path, sig: str,
                                                                                 whole_group: bool) -> None:
    """Ctrl-C in a terminal (SIGINT to the process group), SIGINT and SIGTERM to `bench eval` alone, while forked
    workers score (one of them idle, done with a small sequence): one "interrupted" line, exit 130, no traceback
    from the parent or a worker, no worker left running, no JSON written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    gt_root, results = tmp_path / "gt", tmp_path / "trackers" / "t"
    for seq, frames, people in [("A-SMALL", 20, 2), ("B-BIG", 2000, 30), ("C-SMALL", 20, 2)]:
        f, p = np.meshgrid(np.arange(1, frames + 1), np.arange(people), indexing="ij")
        f, p = f.ravel().astype(float), p.ravel().astype(float)
        gt = np.column_stack([f, p + 1, 10 + 4 * f + 300 * p, 50 + 5 * p, np.full_like(f, 40),
                              np.full_like(f, 100), np.ones_like(f), np.ones_like(f), np.ones_like(f)])
        _write_seq(gt_root, results, seq, gt, _as_results(gt), length=frames)
    assert 2 * 2000 * 30 >= ev.PARALLEL_MIN_BOXES  # so that it is scored by workers: ~2 s for B-BIG
    out = tmp_path / "m.json"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", "from bench.cli import main; main()", "eval", str(results),
                             "--gt", str(gt_root), "--json", str(out)], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_in_a_terminal,
                            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(parent.children()) < 2:
        time.sleep(0.01)
    workers = parent.children()
    assert proc.poll() is None and len(workers) == 2, "scoring ended before it could be interrupted"
    time.sleep(0.5)  # the small sequences are scored by now, and their worker waits for work
    signum = getattr(signal, sig)
    os.killpg(proc.pid, signum) if whole_group else proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in stderr, stderr
    assert not out.exists()
    psutil.wait_procs(workers, timeout=10)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.skipif(not can_fork(), reason="without fork the sequences are scored in this process")
def test_worker_killed_from_outside_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scoring worker SIGKILLed (as the OOM killer does) is a BenchError naming the folder, not a traceback
    about a broken process pool; no worker is left behind."""
    import multiprocessing as mp
    import os
    import signal

    gt_root, results = _tud_layout(tmp_path)
    real = ev.score_sequence

    def dies_on_second(inputs, seq, parts=ev.PARTS):  # forked workers see this patched module
        if seq == TUD_SEQS[1]:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(inputs, seq, parts)

    monkeypatch.setattr(ev, "score_sequence", dies_on_second)
    before = set(mp.active_children())
    with pytest.raises(BenchError, match="killed from outside") as info:
        evaluate(results, gt_root, jobs=2)
    assert str(results) in str(info.value)
    assert set(mp.active_children()) - before == set()


def test_trackeval_data_layout_is_read_like_bench_compare_reads_it(tmp_path: Path) -> None:
    """`bench eval TRACKER/` where the results are in TRACKER/data/<SEQ>.txt (TrackEval's layout) scores them."""
    gt = _walkers()
    _write_seq(tmp_path / "gt", tmp_path / "tracker" / "data", "SEQ-A", gt, _as_results(gt))
    (tmp_path / "tracker" / "pedestrian_summary.txt").write_text("HOTA DetA\n1 1\n")  # TrackEval's own output
    result = evaluate(tmp_path / "tracker", tmp_path / "gt")
    assert result.sequences == ["SEQ-A"] and result.metrics.loc["SEQ-A", "MOTA"] == 1.0
