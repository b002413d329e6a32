"""Error events (bench.evaluate.events), their paired diff (bench.analysis.event_diff), the report's Errors section,
its pictures, `bench inspect` and report.html in a real browser."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bench.analysis.event_diff import diff_counts, paired_diff, top_events
from bench.core.forked import can_fork
from bench.data.mot_io import SeqInfo, write_gt, write_results, write_seqinfo
from bench.evaluate import events as ev
from bench.evaluate import trackeval_adapter
from bench.evaluate.inputs import load_inputs
from bench.evaluate.score import evaluate
from tests import registry_trackers
from tests.test_occlusion import _case

DATA = Path(__file__).resolve().parent / "data"
TUD = DATA / "motmetrics-tud"
TINY = ["synth.frames=40", "synth.num_train=1", "synth.num_val=3", "synth.people=6", "run.jobs=1"]


# ------------------------------------------------------------------------------------------------ events


def test_hand_built_events(tmp_path: Path) -> None:
    """tests/test_occlusion.py's case: gt 2 goes 20 → 21 after two missed frames (a switch and a fragmentation at
    frame 13), gt 1 is lost at 5 and 7 (fragmentations at 6 and 8), gt 4 at 11-45 (one at 46, gap 35)."""
    gt_root, results, _ = _case(tmp_path)
    result = evaluate(results["hand"], gt_root, with_events=True)
    e = result.events
    assert list(e.columns) == list(ev.COLUMNS)
    assert result.metrics.loc["OCC", "IDs"] == 1 and result.metrics.loc["OCC", "Frag"] == 4
    sw = e[e["kind"] == "switch"].iloc[0]
    assert (sw["frame"], sw["gt_id"], sw["track_before"], sw["track_after"], sw["last_frame"], sw["gap"]) == (
        13, 2, 20, 21, 10, 2)
    assert sw["visibility"] == pytest.approx(0.9) and sw["min_visibility"] == pytest.approx(0.3)
    assert sw["iou"] == pytest.approx(1.0) and np.isnan(sw["track_before_gt"])  # 20 is gone by frame 13
    frags = e[e["kind"] == "frag"]
    assert list(zip(frags["frame"], frags["gt_id"], frags["gap"])) == [(6, 1, 1), (8, 1, 1), (13, 2, 2), (46, 4, 35)]
    assert frags.set_index("frame").loc[6, "min_visibility"] == pytest.approx(0.05)
    assert evaluate(results["perfect"], gt_root, with_events=True).events.empty


def test_frames_without_tracker_boxes_do_not_fragment(tmp_path: Path) -> None:
    """TrackEval skips a frame with no tracker box at all without resetting its previous-frame matches, so a gt
    tracked on both sides of it is not fragmented (a naive 'unmatched in frame t' rule would count one)."""
    gt = np.asarray([(f, 1, 100.0, 100.0, 40.0, 100.0, 1, 1, 1.0) for f in range(1, 11)])
    trk = np.asarray([(f, 7, 100.0, 100.0, 40.0, 100.0, 1.0) for f in range(1, 11) if f != 5])
    write_gt(tmp_path / "gt" / "S" / "gt" / "gt.txt", gt)
    write_results(tmp_path / "r" / "S.txt", trk)
    result = evaluate(tmp_path / "r", tmp_path / "gt", with_events=True)
    assert result.metrics.loc["S", "Frag"] == 0 and result.events.empty


def _tud(tmp_path: Path) -> tuple[Path, Path]:
    gt_root, res = tmp_path / "gt", tmp_path / "res"
    res.mkdir()
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        (gt_root / seq / "gt").mkdir(parents=True)
        shutil.copyfile(TUD / seq / "gt.txt", gt_root / seq / "gt" / "gt.txt")
        shutil.copyfile(TUD / seq / "test.txt", res / f"{seq}.txt")
    return gt_root, res


def test_counts_equal_trackeval_on_mot15_fixtures(tmp_path: Path) -> None:
    """On the MOT15 TUD fixtures: switches = TrackEval's IDSW, fragmentations = its Frag, per sequence; the replay's
    matches also give TrackEval's TP and MOTP sum (the same matching, not just the same totals)."""
    gt_root, res = _tud(tmp_path)
    result = evaluate(res, gt_root, with_events=True)
    inputs = load_inputs(res, gt_root, None, None)
    for seq in inputs.seqs:
        got = ev.counts(result.events[result.events["seq"] == seq])
        assert got == {"IDs": result.metrics.loc[seq, "IDs"], "Frag": result.metrics.loc[seq, "Frag"]}
        assert got["IDs"] == 7 and got["Frag"] > 0
        data = trackeval_adapter.preprocess(inputs.results_dir, inputs.gt_root, seq, inputs.lengths[seq],
                                            inputs.benchmark, inputs.gts[seq], inputs.results[seq], rows=True)
        clear = trackeval_adapter.score(data)["CLEAR"]
        replay, _ = ev.replay_clear(data)
        assert (replay.idsw, replay.frag, replay.tp) == (clear["IDSW"], clear["Frag"], clear["CLR_TP"])
        assert replay.motp_sum == pytest.approx(clear["MOTP_sum"], abs=1e-9)
    assert result.events["visibility"].isna().all()  # MOT15 gt has no visibility
    # the file ids come back: every event's gt id is in the gt file, every track id in the result file
    for seq in inputs.seqs:
        e = result.events[result.events["seq"] == seq]
        assert set(e["gt_id"]) <= set(inputs.gts[seq].rows[:, 1].astype(int))
        assert set(e["track_after"]) | set(e["track_before"]) <= set(inputs.results[seq].rows[:, 1].astype(int))


def test_parallel_scoring_gives_the_same_events(tmp_path: Path) -> None:
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork on this platform")
    gt_root, res = _tud(tmp_path)
    one = evaluate(res, gt_root, with_events=True, jobs=1).events
    four = evaluate(res, gt_root, with_events=True, jobs=4).events
    pd.testing.assert_frame_equal(one, four)


def test_a_miscount_is_refused() -> None:
    e = ev.table([{c: 0 for c in ev.COLUMNS} | {"seq": "S", "kind": "switch"}])
    with pytest.raises(RuntimeError, match="IDSW=2"):
        ev.check_counts(e, 2, 0, "t S")


# ------------------------------------------------------------------------------------------------ paired diff


def _events(rows: list[tuple]) -> pd.DataFrame:
    """(tracker, seq, kind, frame, gt_id, visibility, gap) → an events table."""
    out = []
    for tracker, seq, kind, frame, gt_id, vis, gap in rows:
        out.append({"tracker": tracker, "seq": seq, "kind": kind, "frame": frame, "gt_id": gt_id,
                    "track_before": 1, "track_after": 2, "last_frame": frame - gap - 1, "gap": gap,
                    "visibility": vis, "min_visibility": vis, "iou": 0.8, "track_before_gt": np.nan,
                    "x": 0.0, "y": 0.0, "w": 10.0, "h": 20.0})
    return pd.DataFrame(out)


def test_paired_diff_matches_within_the_window_one_to_one() -> None:
    e = _events([
        ("A", "S1", "switch", 100, 1, 0.1, 0),   # B has it 5 frames later: both
        ("B", "S1", "switch", 105, 1, 0.1, 0),
        ("B", "S1", "switch", 106, 1, 0.1, 0),   # a second B switch of gt 1 nearby: only one can pair -> fixed
        ("A", "S1", "switch", 200, 2, 0.6, 3),   # B's is 6 frames away: caused + fixed
        ("B", "S1", "switch", 206, 2, 0.6, 3),
        ("B", "S2", "switch", 200, 2, 0.3, 20),  # same gt id, other sequence: fixed
        ("A", "S1", "frag", 100, 1, 0.1, 0),     # a frag never pairs with a switch
    ])
    d = paired_diff(e, "A", "B")
    sw = d[d["kind"] == "switch"]
    assert sorted(sw["status"]) == ["both", "caused", "fixed", "fixed", "fixed"]
    both = sw[sw["status"] == "both"].iloc[0]
    assert (both["frame_a"], both["frame_b"]) == (100, 105)  # 106 is 6 frames away
    assert d[d["kind"] == "frag"]["status"].tolist() == ["caused"]
    vis = diff_counts(d, "vis_bin").set_index("visibility")
    assert vis.loc["[0, .25)", "both"] == 1 and vis.loc["[0, .25)", "fixed"] == 1
    assert vis.loc["[.5, .75)", "caused"] == 1 and vis.loc["total", "net"] == 3 - 1
    gap = diff_counts(d, "gap_bin").set_index("gap")
    assert gap.loc["16-30", "fixed"] == 1 and gap.loc["0", "fixed"] == 1 and gap.loc["1-5", "caused"] == 1
    assert top_events(d, "fixed", 1)["frame"].tolist() == [106]  # lowest visibility first, then longest gap
    assert len(paired_diff(e, "A", "B", seq="S2")) == 1


def _paired_diff_row_by_row(events: pd.DataFrame, a: str, b: str, window: int = 5) -> pd.DataFrame:
    """The earlier `paired_diff`, one row at a time from each event: the reference for the column-wise one."""
    from bench.analysis.event_diff import _GAP_EDGES, _VIS_EDGES, COLUMNS, EVENT_GAP_BINS, VIS_BINS, _pair

    def vis_bin(v: float) -> str:
        return "n/a" if not np.isfinite(v) else VIS_BINS[int(np.digitize(v, _VIS_EDGES))]

    def gap_bin(gap: int) -> str:
        return EVENT_GAP_BINS[int(np.digitize(gap, _GAP_EDGES))]

    ea = events[events["tracker"] == a].reset_index(drop=True)
    eb = events[events["tracker"] == b].reset_index(drop=True)
    pairs_a, pairs_b = _pair(ea, eb, window)

    def row(status: str, e: pd.Series, ev_a: pd.Series | None, ev_b: pd.Series | None) -> dict:
        def get(side: pd.Series | None, key: str) -> float:
            return float(side[key]) if side is not None else np.nan

        return {"status": status, "seq": e["seq"], "kind": e["kind"], "frame": int(e["frame"]),
                "gt_id": int(e["gt_id"]), "visibility": float(e["visibility"]),
                "min_visibility": float(e["min_visibility"]), "gap": int(e["gap"]),
                "frame_a": get(ev_a, "frame"), "frame_b": get(ev_b, "frame"),
                "a_before": get(ev_a, "track_before"), "a_after": get(ev_a, "track_after"),
                "b_before": get(ev_b, "track_before"), "b_after": get(ev_b, "track_after"),
                "a_before_gt": get(ev_a, "track_before_gt"), "b_before_gt": get(ev_b, "track_before_gt"),
                "last_frame": int(e["last_frame"]), "x": float(e["x"]), "y": float(e["y"]), "w": float(e["w"]),
                "h": float(e["h"]), "vis_bin": vis_bin(float(e["visibility"])), "gap_bin": gap_bin(int(e["gap"]))}

    paired_b = dict(zip(pairs_a, pairs_b))
    rows = [row("both" if paired_b.get(i) is not None else "caused", e, e,
                eb.loc[paired_b[i]] if i in paired_b else None) for i, e in ea.iterrows()]
    rows += [row("fixed", eb.loc[j], None, eb.loc[j]) for j in sorted(set(range(len(eb))) - set(pairs_b))]
    out = pd.DataFrame(rows, columns=COLUMNS)
    order = {s: i for i, s in enumerate(dict.fromkeys(events["seq"]))}
    out = out.assign(_o=out["seq"].map(order)).sort_values(["_o", "frame", "gt_id", "kind", "status"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("AB"), st.sampled_from(["S1", "S2"]), st.sampled_from(["switch", "frag"]),
                          st.integers(1, 40), st.integers(1, 3),
                          st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.74, 0.75, 1.0, 1.2, np.nan]),
                          st.integers(0, 40)), max_size=30))
def test_paired_diff_equals_the_row_by_row_reference(rows: list) -> None:
    """Same rows, values, order and dtypes as building each row from its events (NaN visibility, empty sides)."""
    e = _events(rows) if rows else _events([("A", "S1", "switch", 1, 1, 0.5, 0)]).iloc[:0]
    e["track_before_gt"] = np.where(np.arange(len(e)) % 2 == 0, np.nan, 7.0)  # a gt id, or none
    pd.testing.assert_frame_equal(paired_diff(e, "A", "B"), _paired_diff_row_by_row(e, "A", "B"))


def test_bins_are_the_occlusion_sections() -> None:
    from bench.analysis import event_diff
    from bench.evaluate.breakdowns.relink import GAP_BINS
    from bench.evaluate.breakdowns.visibility import VIS_BINS

    assert event_diff.VIS_BINS == VIS_BINS and event_diff.EVENT_GAP_BINS[1:] == GAP_BINS


def test_paired_diff_of_a_tracker_with_itself_is_all_both(tmp_path: Path) -> None:
    gt_root, res = _tud(tmp_path)
    e = evaluate(res, gt_root, with_events=True).events
    e = pd.concat([e.assign(tracker="A"), e.assign(tracker="B")], ignore_index=True)
    d = paired_diff(e, "A", "B")
    assert (d["status"] == "both").all() and len(d) == len(e) // 2


# ------------------------------------------------------------------------------------------------ a run's report


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A `bench run` of ByteTrack and the IoU tracker on a tiny synth suite, with its report."""
    from bench.commands.run import run_suite
    from bench.core.config import load_config
    from bench.data.suites import load_suite
    from bench.present.report import write_report

    root = tmp_path_factory.mktemp("events")
    registry_trackers.register_all()
    try:
        cfg = load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'"])
        suite = load_suite("synth", cfg)
        run = run_suite(cfg, suite, ["bytetrack", "iou"], run_id="run")
        write_report(run.run_dir, error_strips=3)
        yield cfg, suite, run.run_dir
    finally:
        registry_trackers.unregister_all()


def test_run_events_equal_trackeval_counts_on_synth(tiny_run) -> None:
    _, _, run_dir = tiny_run
    events = pd.read_csv(run_dir / "events.csv")
    metrics = pd.read_csv(run_dir / "metrics.csv")
    per_seq = metrics[metrics["seq"] != "COMBINED"]
    assert per_seq["IDs"].sum() > 0 and per_seq["Frag"].sum() > 0  # the comparison below is not 0 == 0
    for row in per_seq.itertuples(index=False):
        e = events[(events["tracker"] == row.tracker) & (events["seq"] == row.seq)]
        assert ev.counts(e) == {"IDs": row.IDs, "Frag": row.Frag}, (row.tracker, row.seq)
    assert events["visibility"].between(0, 1).all()


def test_report_has_the_errors_section_and_bounded_pictures(tiny_run) -> None:
    _, suite, run_dir = tiny_run
    md = (run_dir / "report.md").read_text()
    assert "## Errors: which ID switches each tracker fixes and causes" in md and "### iou (A) vs bytetrack (B)" in md
    folder = run_dir / "errors" / "iou-vs-bytetrack"
    diff = pd.read_csv(folder / "diff.csv")
    strips = sorted(folder.glob("strip-*.png"))
    n_fixed = min(3, int(((diff["status"] == "fixed") & (diff["kind"] == "switch")).sum()))
    n_caused = min(3, int(((diff["status"] == "caused") & (diff["kind"] == "switch")).sum()))
    assert len(strips) == n_fixed + n_caused > 0
    for p in strips:
        assert f"]({p.relative_to(run_dir).as_posix()})" in md
        assert p.stat().st_size < 400_000
    barcodes = sorted(folder.glob("barcode-*.png"))
    assert [p.name for p in barcodes] == [f"barcode-{s.name}.png" for s in suite.split("val")]
    from PIL import Image

    with Image.open(strips[0]) as im:  # 2 tracker rows of crops, up to 8 frames
        assert im.format == "PNG" and 300 < im.height < 400 and im.width <= 118 + 8 * 141
    assert (run_dir / "report.html").is_file()


@pytest.mark.skipif(not can_fork(), reason="without fork the pictures are drawn in this process")
def test_pictures_drawn_in_forked_workers_are_the_serial_ones(tiny_run, monkeypatch) -> None:
    """Strips and barcodes drawn in forked workers (batches of 2 here) equal the one-process drawing byte for byte,
    and a size budget that runs out inside a batch keeps exactly the strips the serial loop keeps."""
    from bench.core.record import load_manifest
    from bench.present import errors_section as es

    _, _, run_dir = tiny_run
    suite = load_manifest(run_dir).suite
    events = es.load_events(run_dir, ["iou", "bytetrack"], suite)
    forked: list[int] = []
    real_map = es.forked_map
    monkeypatch.setattr(es, "forked_map", lambda fn, items, jobs: forked.append(len(items)) or real_map(fn, items, jobs))

    def draw(batch: int, budget: int = es.STRIP_BYTES, sub: str = "") -> tuple[es.PairErrors, dict[str, bytes]]:
        monkeypatch.setattr(es, "PICTURE_BATCH", batch)
        pe = es.analyse_pair(run_dir, events, "iou", "bytetrack", suite, 3, subfolder=sub, budget=budget)
        folder = run_dir / pe.folder
        return pe, {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}

    serial, serial_files = draw(10_000, sub="serial")
    assert not forked and len(serial.strips) >= 3 and serial_files
    parallel, parallel_files = draw(2, sub="forked")
    assert forked and parallel_files == serial_files and parallel.strips.keys() == serial.strips.keys()
    sizes = [p.stat().st_size for p in serial.strips.values()]  # in drawing order
    for kept, budget in ((1, sizes[0]), (2, sizes[0] + 1)):  # spent by the 1st strip of a batch of 2, or the 2nd
        kept_serial, files_serial = draw(10_000, budget, sub=f"budget-{kept}-serial")
        kept_forked, files_forked = draw(2, budget, sub=f"budget-{kept}-forked")
        assert len(kept_serial.strips) == kept and kept_serial.over_budget == len(sizes) - kept
        assert (kept_forked.strips.keys(), kept_forked.over_budget) == (kept_serial.strips.keys(),
                                                                         kept_serial.over_budget)
        assert files_forked == files_serial  # the strip drawn past the budget is not left behind


def test_inspect_prints_the_diff_and_draws_one_sequence(tiny_run) -> None:
    from bench.cli import app

    _, suite, run_dir = tiny_run
    seq = suite.split("val")[0].name
    res = CliRunner().invoke(app, ["inspect", str(run_dir), "--a", "iou", "--b", "bytetrack", "--seq", seq,
                                   "--top", "2"])
    assert res.exit_code == 0, res.output
    assert "fixes / causes" in res.output and f"timeline {seq}" in res.output
    sub = run_dir / "errors" / "iou-vs-bytetrack" / f"seq-{seq}"
    diff = pd.read_csv(sub / "diff.csv")
    assert set(diff["seq"]) <= {seq} and (sub / f"barcode-{seq}.png").is_file()
    bad = CliRunner().invoke(app, ["inspect", str(run_dir), "--a", "finetrack", "--b", "bytetrack"])
    assert bad.exit_code != 0 and "no such tracker" in str(bad.exception or bad.output)


def test_compare_without_images_has_events_and_barcodes_but_no_strips(tiny_run, tmp_path: Path) -> None:
    """Other tools' results on a gt folder without frames: events, counts and timelines; the report says why there
    are no strips."""
    from bench.commands.compare import compare_folders, parse_entries
    from bench.present.report import write_report

    cfg, suite, run_dir = tiny_run
    gt = tmp_path / "gt"
    for s in suite.split("val"):
        (gt / s.name / "gt").mkdir(parents=True)
        shutil.copyfile(s.gt_path, gt / s.name / "gt" / "gt.txt")  # no seqinfo.ini, no img1/
    entries = parse_entries([f"theirs={run_dir / 'iou'}", f"ours={run_dir / 'bytetrack'}"])
    result = compare_folders(entries, gt, tmp_path / "results", run_id="cmp")
    write_report(result.run_dir)
    md = (result.run_dir / "report.md").read_text()
    assert "No strips for" in md and "no images to crop from" in md
    folder = result.run_dir / "errors" / "ours-vs-theirs"
    assert not list(folder.glob("strip-*.png")) and len(list(folder.glob("barcode-*.png"))) == 3
    ran = pd.read_csv(run_dir / "events.csv")
    got = pd.read_csv(result.run_dir / "events.csv")
    pd.testing.assert_frame_equal(got[got["tracker"] == "theirs"].drop(columns="tracker").reset_index(drop=True),
                                  ran[ran["tracker"] == "iou"].drop(columns="tracker").reset_index(drop=True))


# ------------------------------------------------------------------------------------------------ report.html


def _browser() -> str | None:
    for name in (os.environ.get("BENCH_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name) if name else None
        if path:
            return path
    return None


def test_report_html_in_a_real_browser(tiny_run) -> None:
    """Headless Chromium (Debian's, driven by Playwright): no console error, sorting reorders, a click opens a strip."""
    _, _, run_dir = tiny_run
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "the playwright package is missing (pip install -e '.[test]')"
    browser = _browser()
    if why is None and browser is None:
        why = "no Chromium on PATH (apt-get install chromium; or set BENCH_CHROMIUM to a Chromium/Chrome binary)"
    if why:
        if os.environ.get("BENCH_REQUIRE_BROWSER"):
            pytest.fail(f"BENCH_REQUIRE_BROWSER is set but {why}")
        pytest.skip(f"report.html browser test skipped: {why}")
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser, headless=True, args=args)  # a fresh profile per launch
        try:
            page = b.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: problems.append(f"network: {r.url}") if not r.url.startswith("file:")
                    else None)
            page.goto((run_dir / "report.html").as_uri())
            page.wait_for_load_state("load")
            rows = "#events-0 tbody tr"
            gap_col = page.eval_on_selector_all("#events-0 thead th", "hs => hs.map(h => h.textContent)").index("gap")

            def column() -> list[float]:
                return page.eval_on_selector_all(rows, f"rs => rs.map(r => Number(r.cells[{gap_col}].dataset.v))")

            before = column()
            assert len(before) > 2 and before != sorted(before)
            page.locator("#events-0 thead th", has_text="gap").first.click()
            assert column() == sorted(before)
            page.locator("#events-0 thead th", has_text="gap").first.click()
            assert column() == sorted(before, reverse=True)
            assert not page.locator("#strip-dialog").is_visible()
            page.locator("#events-0 tr[data-strip]").first.click()
            assert page.locator("#strip-dialog").is_visible()
            page.wait_for_function("() => { const i = document.getElementById('strip-img');"
                                   " return i.complete && i.naturalWidth > 0; }", timeout=10_000)
            assert "strip-" in page.eval_on_selector("#strip-img", "i => i.src")
            page.locator("#strip-close").click()
            assert not page.locator("#strip-dialog").is_visible()
            # one sequence: only its events, its timeline and its strips stay in view
            seq = page.eval_on_selector(rows, "r => r.dataset.seq")
            page.select_option("select.seq[data-pair='0']", seq)
            shown = page.eval_on_selector_all(rows, "rs => rs.filter(r => r.offsetParent !== null)"
                                                    ".map(r => r.dataset.seq)")
            assert shown and set(shown) == {seq}
            barcodes = page.eval_on_selector_all("div.barcode[data-pair='0']",
                                                 "bs => bs.map(b => [b.dataset.seq, b.offsetParent !== null])")
            assert len(barcodes) == 3 and all(visible == (s == seq) for s, visible in barcodes)
            assert problems == []
        finally:
            b.close()


def test_any_sequence_name_gets_its_strip_and_links(tmp_path: Path, monkeypatch) -> None:
    """A sequence named with Unicode, spaces and brackets: files get a safe name, links are URL-encoded, the markdown
    link text is escaped; the strip is drawn from the sequence's own frames."""
    from urllib.parse import unquote

    from PIL import Image

    from bench.commands.compare import compare_folders
    from bench.present.report import write_report

    gt_root, results, gt = _case(tmp_path)
    name = "Straße [1] (b)"
    (gt_root / "OCC").rename(gt_root / name)
    write_seqinfo(gt_root / name, SeqInfo(name=name, length=50, width=1600, height=400, fps=30.0))
    (gt_root / name / "img1").mkdir()
    for f in range(1, 51):
        Image.new("RGB", (1600, 400), (40 + f, 90, 120)).save(gt_root / name / "img1" / f"{f:06d}.jpg")
    for folder in results.values():
        (folder / "OCC.txt").rename(folder / f"{name}.txt")
    result = compare_folders({"hand": results["hand"], "perfect": results["perfect"]}, gt_root, tmp_path / "out",
                             run_id="cmp")
    write_report(result.run_dir)
    strips = list((result.run_dir / "errors" / "perfect-vs-hand").glob("strip-*.png"))
    assert len(strips) == 1 and strips[0].name.startswith("strip-fixed-Stra_e__1___b_-")  # hand's one switch
    md = (result.run_dir / "report.md").read_text()
    target = md.split("Top 1 fixed switches")[1].split("](")[1].split(")")[0]
    assert " " not in target and (result.run_dir / unquote(target)) == strips[0]
    assert "[Straße \\[1\\] (b) gt 2 frame 13]" in md
    assert unquote(target) in unquote((result.run_dir / "report.html").read_text())
    # the strips' size limit: none fits in 0 bytes, the report says so and leaves no stale strip behind
    from bench.present import errors_section

    monkeypatch.setattr(errors_section, "STRIP_BYTES", 0)
    write_report(result.run_dir)
    assert not list((result.run_dir / "errors").glob("*/strip-*.png"))
    md = (result.run_dir / "report.md").read_text()
    assert "1 strips not drawn: the report's strips reached their size limit" in md
