"""bench.evaluate.occlusion on a hand-built case whose every number is worked out in the comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.data.mot_io import SeqInfo, write_gt, write_results, write_seqinfo
from bench.evaluate.breakdowns.relink import GAP_BINS
from bench.evaluate.breakdowns.visibility import VIS_BINS
from bench.evaluate.occlusion import analyse_occlusion

DATA = Path(__file__).resolve().parent / "data"


def _gt(track: int, x: float, frames: range, vis: float, conf: int = 1) -> list[tuple]:
    return [(f, track, x, 100.0, 40.0, 100.0, conf, 1, vis) for f in frames]


def _trk(track: int, x: float, frames: range) -> list[tuple]:
    return [(f, track, x, 100.0, 40.0, 100.0, 1.0) for f in frames]


def _case(tmp_path: Path) -> tuple[Path, dict[str, Path], np.ndarray]:
    """50 frames, gt tracks far apart (tracker boxes sit exactly on them: IoU 1 or 0).

    A (x=100): vis 1.0 in 1-4, 0.05 in 5-7, 0.6 in 8-20. Tracker 10 on 1-4, 6 and 8-20.
    B (x=400): vis 0.3 in 1-10, 0.9 in 11-20. Tracker 20 on 1-10, nothing on 11-12, 21 on 13-20 (a switch).
    C (x=700): vis 0.0 in 1-3, 0.8 in 4-10. Tracker 30 on 4-10.
    D (x=1000): vis 1.0 in 1-50. Tracker 40 on 1-10 and 46-50.
    E (x=1300): conf 0 (zero-marked, not evaluated) in 1-5; a tracker box on it is ignored by MOT17 preprocessing.
    """
    gt = np.asarray(_gt(1, 100, range(1, 5), 1.0) + _gt(1, 100, range(5, 8), 0.05) + _gt(1, 100, range(8, 21), 0.6)
                    + _gt(2, 400, range(1, 11), 0.3) + _gt(2, 400, range(11, 21), 0.9)
                    + _gt(3, 700, range(1, 4), 0.0) + _gt(3, 700, range(4, 11), 0.8)
                    + _gt(4, 1000, range(1, 51), 1.0) + _gt(5, 1300, range(1, 6), 0.5, conf=0))
    gt = gt[np.lexsort((gt[:, 1], gt[:, 0]))]
    trk = np.asarray(_trk(10, 100, range(1, 5)) + _trk(10, 100, range(6, 7)) + _trk(10, 100, range(8, 21))
                     + _trk(20, 400, range(1, 11)) + _trk(21, 400, range(13, 21)) + _trk(30, 700, range(4, 11))
                     + _trk(40, 1000, range(1, 11)) + _trk(40, 1000, range(46, 51)))
    trk = trk[np.lexsort((trk[:, 1], trk[:, 0]))]
    gt_root = tmp_path / "gt"
    write_gt(gt_root / "OCC" / "gt" / "gt.txt", gt)
    write_seqinfo(gt_root / "OCC", SeqInfo(name="OCC", length=50, width=1920, height=1080, fps=30.0))
    perfect = gt[gt[:, 6] == 1][:, :7].copy()
    write_results(tmp_path / "hand" / "OCC.txt", trk)
    write_results(tmp_path / "perfect" / "OCC.txt", perfect)
    return gt_root, {"hand": tmp_path / "hand", "perfect": tmp_path / "perfect"}, gt


def test_hand_built_case(tmp_path: Path) -> None:
    gt_root, results, _ = _case(tmp_path)
    tables = analyse_occlusion(results, gt_root, ["OCC"])
    assert tables is not None
    vis = tables.by_visibility.set_index(["tracker", "bin"])
    assert list(tables.by_visibility.columns) == ["tracker", "bin", "gt_boxes", "matched", "recall", "id_switches",
                                                  "idsw_per_100", "id_consistency"]
    assert list(vis.loc["hand"].index) == list(VIS_BINS)
    # [0, .25): A 5-7 and C 1-3 (6 boxes, E is zero-marked); only A's frame 6 is matched
    # [.25, .5): B 1-10, all matched to 20; [.5, .75): A 8-20, all matched to 10
    # [.75, 1]: A 1-4, B 11-20, C 4-10, D 1-50 = 71 boxes; matched A 4 + B 8 + C 7 + D 15 = 34; one switch (B at 13);
    #           B's 8 boxes on 21 are not its global IDF1 partner (20): consistency 26/34
    expected = {"[0, .25)": (6, 1, 0, 1.0), "[.25, .5)": (10, 10, 0, 1.0), "[.5, .75)": (13, 13, 0, 1.0),
                "[.75, 1]": (71, 34, 1, 26 / 34)}
    for name, (gt_boxes, matched, switches, consistency) in expected.items():
        row = vis.loc[("hand", name)]
        assert (row["gt_boxes"], row["matched"], row["id_switches"]) == (gt_boxes, matched, switches), name
        assert row["recall"] == pytest.approx(matched / gt_boxes)
        assert row["idsw_per_100"] == pytest.approx(100 * switches / matched)
        assert row["id_consistency"] == pytest.approx(consistency), name
    perfect = vis.loc["perfect"]
    assert (perfect["recall"] == 1).all() and (perfect["id_switches"] == 0).all()
    assert (perfect["id_consistency"] == 1).all() and list(perfect["gt_boxes"]) == [6, 10, 13, 71]

    relink = tables.relink.set_index(["tracker", "gap_bin"])
    assert list(relink.loc["hand"].index) == list(GAP_BINS)
    # hand: A 5-7 (vis < 0.1 even where matched; 10 → 10: relinked), B 11-12 (20 → 21: not), D 11-45 (35 frames,
    # 40 → 40: relinked); C 1-3 has no match before it and is not counted
    assert tuple(relink.loc[("hand", "1-5"), ["gaps", "relinked"]]) == (2, 1)
    assert relink.loc[("hand", "1-5"), "rate"] == pytest.approx(0.5)
    assert tuple(relink.loc[("hand", "6-15"), ["gaps", "relinked"]]) == (0, 0)
    assert np.isnan(relink.loc[("hand", "6-15"), "rate"]) and np.isnan(relink.loc[("hand", "16-30"), "rate"])
    assert tuple(relink.loc[("hand", ">30"), ["gaps", "relinked", "rate"]]) == (1, 1, 1.0)
    # perfect: only A's occlusion (vis 0.05 in 5-7) is a gap, relinked
    assert list(relink.loc["perfect", "gaps"]) == [1, 0, 0, 0] and relink.loc[("perfect", "1-5"), "rate"] == 1.0


def test_no_visibility_gives_none(tmp_path: Path) -> None:
    gt_root, results, gt = _case(tmp_path)
    flat = gt.copy()
    flat[:, 8] = 1.0  # DanceTrack writes visibility 1 everywhere
    write_gt(gt_root / "OCC" / "gt" / "gt.txt", flat)
    assert analyse_occlusion(results, gt_root, ["OCC"]) is None
    tud = tmp_path / "tud"  # MOT15-style gt (no class/visibility columns)
    (tud / "TUD-Campus" / "gt").mkdir(parents=True)
    shutil.copyfile(DATA / "motmetrics-tud" / "TUD-Campus" / "gt.txt", tud / "TUD-Campus" / "gt" / "gt.txt")
    (tmp_path / "tudres").mkdir()
    shutil.copyfile(DATA / "motmetrics-tud" / "TUD-Campus" / "test.txt", tmp_path / "tudres" / "TUD-Campus.txt")
    assert analyse_occlusion({"t": tmp_path / "tudres"}, tud, ["TUD-Campus"]) is None


def test_totals_match_the_crosscheck(tmp_path: Path) -> None:
    """Summed over bins, matched boxes and switches are motmetrics' TP and IDs from bench.evaluate.score."""
    from bench.evaluate.score import evaluate

    gt_root, results, _ = _case(tmp_path)
    tables = analyse_occlusion(results, gt_root, ["OCC"])
    for tracker, folder in results.items():
        check = evaluate(folder, gt_root).crosscheck.loc["OCC"]
        rows = tables.by_visibility[tables.by_visibility["tracker"] == tracker]
        assert rows["id_switches"].sum() == check["IDs_motmetrics"]
        assert rows["gt_boxes"].sum() - rows["matched"].sum() == check["FN_motmetrics"]
        assert isinstance(tables.by_visibility, pd.DataFrame)


def test_per_sequence_counts_sum_to_the_combined_tables(tmp_path: Path) -> None:
    # two copies of the hand-built sequence: the per-sequence counts the paired occlusion tests read (one long
    # table of both breakdowns) sum to the combined tables
    from bench.analysis.occlusion_stats import sequence_counts
    from bench.evaluate.breakdowns import compute

    gt_root, results, gt = _case(tmp_path)
    shutil.copytree(gt_root / "OCC", gt_root / "OCC2")
    write_seqinfo(gt_root / "OCC2", SeqInfo(name="OCC2", length=50, width=1920, height=1080, fps=30.0))
    for folder in results.values():
        shutil.copyfile(folder / "OCC.txt", folder / "OCC2.txt")
    per = sequence_counts(compute(results, gt_root, ["OCC", "OCC2"])[0])
    assert set(per["seq"]) == {"OCC", "OCC2"} and set(per["kind"]) == {"visibility", "gap"}
    one = per[(per["tracker"] == "hand") & (per["seq"] == "OCC") & (per["bin"] == "[.75, 1]")].iloc[0]
    assert (one["gt_boxes"], one["matched"], one["id_switches"], one["consistent"]) == (71, 34, 1, 26)
    tables = analyse_occlusion(results, gt_root, ["OCC", "OCC2"])
    counts = ["gt_boxes", "matched", "id_switches"]
    vis = per[per["kind"] == "visibility"].groupby(["tracker", "bin"], sort=False)[counts].sum().reset_index()
    pd.testing.assert_frame_equal(vis, tables.by_visibility[["tracker", "bin", *counts]], check_dtype=False)
    rel = per[per["kind"] == "gap"].groupby(["tracker", "bin"], sort=False)[["gaps", "relinked"]].sum()
    expected = tables.relink.rename(columns={"gap_bin": "bin"})[["tracker", "bin", "gaps", "relinked"]]
    pd.testing.assert_frame_equal(rel.reset_index(), expected, check_dtype=False)


def test_breakdowns_in_forked_workers_are_the_serial_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large inputs are broken down one (tracker, sequence) per forked worker: the same tables as one process."""
    import bench.core.forked as forked
    import bench.evaluate.score as score
    from bench.evaluate.breakdowns import compute

    gt_root, results, _ = _case(tmp_path)
    shutil.copytree(gt_root / "OCC", gt_root / "OCC2")
    write_seqinfo(gt_root / "OCC2", SeqInfo(name="OCC2", length=50, width=1920, height=1080, fps=30.0))
    for folder in results.values():
        shutil.copyfile(folder / "OCC.txt", folder / "OCC2.txt")
    monkeypatch.setattr(score, "PARALLEL_MIN_BOXES", 10**9)
    serial, _ = compute(results, gt_root, ["OCC", "OCC2"])
    calls = []
    real = forked.forked_map
    monkeypatch.setattr(forked, "forked_map", lambda fn, items, jobs: calls.append(len(items)) or real(fn, items, jobs))
    monkeypatch.setattr(score, "PARALLEL_MIN_BOXES", 0)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    parallel, _ = compute(results, gt_root, ["OCC", "OCC2"])
    assert calls == [2 * len(results)] and serial.keys() == parallel.keys()
    for name in serial:
        pd.testing.assert_frame_equal(parallel[name].per_seq, serial[name].per_seq)
        pd.testing.assert_frame_equal(parallel[name].combined, serial[name].combined)
