"""The report's "Errors" section: for each tracker pair, the ID switches A fixes and causes against B (counts per
visibility and gap bin), strips of the top N of each, and per sequence the identity timelines of both.

Files (in the run folder): `events.csv` (every tracker's switches and fragmentations, written by the evaluation;
computed here for runs made before it existed), `errors/<A>-vs-<B>/diff.csv` (the paired diff), `strip-*.png` and
`barcode-*.png` beside it. Sequences without images get events and barcodes and no strips, and the report says so.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from bench.analysis import event_diff
from bench.core import record
from bench.core.forked import can_fork, forked_map
from bench.core.fsutil import atomic_path
from bench.core.record import Manifest, SuiteRecord
from bench.data.mot_fast import gt_path
from bench.evaluate import events as ev
from bench.evaluate.inputs import load_inputs

FOLDER = "errors"
# Pictures are drawn in forked workers, one per core, when there are at least this many: a strip takes ~0.3 s and a
# barcode ~0.6 s on one core (matplotlib), forking costs ~0.05 s. Strips go in batches of this size, so that past the
# size budget at most a batch is drawn for nothing.
PICTURE_BATCH = 8
STRIP_BYTES = 12_000_000  # all strips of one report together (then ~1 MB of barcodes for 10 sequences x 3 pairs)


@dataclass
class PairErrors:
    """What the section found for one pair (also what report.html shows)."""

    a: str
    b: str
    diff: pd.DataFrame
    by_vis: pd.DataFrame
    by_gap: pd.DataFrame
    strips: dict[int, Path] = field(default_factory=dict)  # diff row index → strip file
    barcodes: dict[str, Path] = field(default_factory=dict)  # seq → barcode file
    no_images: list[str] = field(default_factory=list)
    over_budget: int = 0  # strips not drawn: the strips reached their size limit
    strip_bytes: int = 0

    folder: str = ""

    def __post_init__(self) -> None:
        self.folder = self.folder or f"{FOLDER}/{safe_name(self.a)}-vs-{safe_name(self.b)}"


def safe_name(name: str) -> str:
    """A file-name part for any name (Unicode, spaces, brackets): plain names unchanged, others slugged and hashed."""
    slug = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
    return slug if slug == name else f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def md_text(text: str) -> str:
    """Any name as markdown link text (brackets and backslashes escaped)."""
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def link(path: Path, run_dir: Path) -> str:
    """A relative link (URL-encoded) from report.md / report.html to a file of the run folder."""
    return quote(path.relative_to(run_dir).as_posix())


def load_events(run_dir: Path, trackers: list[str], suite: SuiteRecord) -> pd.DataFrame:
    """The run's stored events, or (runs made before the evaluation stored them) the same table computed now and
    stored."""
    stored = record.read_events(run_dir)
    if stored is not None:  # written with the run's metrics, for all its trackers (a run folder never gains one)
        return stored
    from bench.evaluate.score import evaluate

    parts = [evaluate(run_dir / t, Path(suite.root), seqs=list(suite.sequences), benchmark=suite.benchmark,
                      tracker_name=t, with_events=True).events.assign(tracker=t)
             for t in trackers]
    table = pd.concat(parts, ignore_index=True)
    table = table[["tracker", *table.columns.drop("tracker")]]
    record.write_events(run_dir, table)
    return table


def pairs(trackers: list[str]) -> list[tuple[str, str]]:
    """(A, B) as the significance tables pair them: each later tracker of the run against each earlier one."""
    return [(a, b) for i, b in enumerate(trackers) for a in trackers[i + 1:]]


def draw_pictures(tasks: list[Callable[[], Path]]) -> list[Path]:
    """Each task's picture file, in order: in forked workers when there are PICTURE_BATCH or more (the files are
    the same either way: each task is a plain function of its inputs)."""
    jobs = min(os.cpu_count() or 1, len(tasks))
    if len(tasks) < PICTURE_BATCH or jobs <= 1 or not can_fork():
        return [task() for task in tasks]
    return forked_map(lambda task: task(), tasks, jobs)


def analyse_pair(run_dir: Path, events: pd.DataFrame, a: str, b: str, suite: SuiteRecord, top_n: int,
                 seqs: list[str] | None = None, pictures: bool = True, subfolder: str = "",
                 assigned: dict[tuple[str, str], pd.DataFrame] | None = None,
                 budget: int = STRIP_BYTES) -> PairErrors:
    """The paired diff of A against B, its counts, and (with `pictures`) its strips and barcodes, written into
    `errors/<A>-vs-<B>/` (or a `subfolder` of it). `assigned` caches each (tracker, seq)'s matches across pairs;
    strips stop once they take `budget` bytes."""
    from bench.present import error_pictures as pics

    diff = event_diff.paired_diff(events, a, b)
    if seqs is not None:
        diff = diff[diff["seq"].isin(seqs)].reset_index(drop=True)
    out = PairErrors(a, b, diff, event_diff.diff_counts(diff, "vis_bin"), event_diff.diff_counts(diff, "gap_bin"))
    if subfolder:
        out.folder = f"{out.folder}/{subfolder}"
    folder = run_dir / out.folder
    with atomic_path(folder / "diff.csv") as tmp:
        diff.drop(columns=["x", "y", "w", "h"]).to_csv(tmp, index=True, index_label="event")
    if not pictures:
        return out
    root = Path(suite.root)
    results = {a: run_dir / a, b: run_dir / b}
    seqs = list(seqs if seqs is not None else suite.sequences)
    images = {s: pics.sequence_images(root, s) for s in seqs}
    out.no_images = [s for s in seqs if images[s] is None]
    benchmark = load_inputs(results[a], root, seqs, suite.benchmark).benchmark  # "auto" resolved as scored
    top = pd.concat([event_diff.top_events(diff, "fixed", top_n), event_diff.top_events(diff, "caused", top_n)])
    rows_cache: dict[str, tuple] = {}
    for old in folder.glob("strip-*.png"):  # a previous report's strips of this pair (another N, older events)
        old.unlink()
    assigned = {} if assigned is None else assigned

    def matches(t: str, s: str) -> pd.DataFrame:
        if (t, s) not in assigned:
            assigned[t, s] = ev.assignments(results[t], root, s, suite.benchmark)
        return assigned[t, s]

    strips = []  # (diff row, drawing task), in the order the size budget is spent on them
    for i, e in top.iterrows():
        imgs = images.get(e["seq"])
        if imgs is None:
            continue
        if e["seq"] not in rows_cache:
            rows_cache[e["seq"]] = pics.sequence_rows(root, e["seq"], results, benchmark)
        gt, res = rows_cache[e["seq"]]
        name = f"strip-{e['status']}-{safe_name(e['seq'])}-gt{int(e['gt_id'])}-f{int(e['frame'])}.png"
        strips.append((int(i), partial(pics.draw_strip, e, a, b, imgs, gt, res, folder / name,
                                       {t: matches(t, e["seq"]) for t in (a, b)})))
    for start in range(0, len(strips), PICTURE_BATCH):  # in batches: past the budget, nothing more is drawn
        if budget <= 0:
            out.over_budget += len(strips) - start
            break
        batch = strips[start:start + PICTURE_BATCH]
        for (i, _), drawn in zip(batch, draw_pictures([task for _, task in batch])):
            if budget <= 0:  # drawn beside the one that spent the budget: dropped, as if never drawn
                drawn.unlink()
                out.over_budget += 1
                continue
            out.strips[i] = drawn
            out.strip_bytes += drawn.stat().st_size
            budget -= drawn.stat().st_size
    barcodes = []
    for s in seqs:
        assigns = {t: matches(t, s) for t in (a, b)}
        sw = {t: events[(events["tracker"] == t) & (events["seq"] == s) & (events["kind"] == "switch")]
              for t in (a, b)}
        length = int(max(x["frame"].max() for x in assigns.values() if len(x))) if any(
            len(x) for x in assigns.values()) else 1
        if images[s] is not None:
            length = images[s].length
        barcodes.append(partial(pics.draw_barcode, s, assigns, sw, length, folder / f"barcode-{safe_name(s)}.png"))
    out.barcodes = dict(zip(seqs, draw_pictures(barcodes)))
    return out


def section(doc, run_dir: Path, manifest: Manifest, trackers: list[str], context: str, top_n: int) -> list[PairErrors]:
    """Append the Errors section to `doc` (bench.present.report.Doc); returns each pair's findings."""
    suite = manifest.suite
    doc.text("## Errors: which ID switches each tracker fixes and causes")
    if len(trackers) < 2:
        doc.text("Not shown: the run has one tracker, so there is nothing to pair.")
        return []
    root = Path(suite.root)
    missing = [f"the run folder lacks `{run_dir / t / f'{s}.txt'}`" for t in trackers for s in suite.sequences
               if not (run_dir / t / f"{s}.txt").is_file()]
    missing += [f"the ground truth `{gt_path(root, s)}` is missing" for s in suite.sequences
                if not gt_path(root, s).is_file()]
    if missing:
        doc.text(f"Not analysed: {missing[0]}.")
        return []
    events = load_events(run_dir, trackers, suite)
    doc.text(
        f"Every ID switch and fragmentation is taken from TrackEval's own CLEAR matching (`{record.EVENTS}`: frame, gt id, "
        "track ids before/after, visibility, gap, IoU; per sequence its counts are TrackEval's IDs and Frag). For "
        f"each pair A vs B, the two trackers' switches are paired on (sequence, gt id, frame ± {event_diff.WINDOW}): "
        "**fixed** = B switches and A does not, **caused** = A switches and B does not, **both** = both do; "
        "net = fixed − caused. Visibility is the gt box's at the switch; gap = frames since the gt's last match "
        "(0: consecutive frames). No tracker here records its association costs, so the only distance shown is the "
        "evaluation's IoU."
    )
    found = []
    for old in (run_dir / FOLDER).glob("*/strip-*.png"):  # a previous report's strips (another N, older events)
        old.unlink()
    assigned: dict[tuple[str, str], pd.DataFrame] = {}
    budget = STRIP_BYTES  # for all pairs' strips together
    for a, b in pairs(trackers):
        pe = analyse_pair(run_dir, events, a, b, suite, top_n, assigned=assigned, budget=budget)
        budget -= pe.strip_bytes
        found.append(pe)
        d = pe.diff
        frags = d[d["kind"] == "frag"]["status"].value_counts()
        doc.text(f"### {a} (A) vs {b} (B)",
                 f"ID switches: {a} fixes {int(pe.by_vis['fixed'].iloc[-1])}, causes "
                 f"{int(pe.by_vis['caused'].iloc[-1])}, both have {int(pe.by_vis['both'].iloc[-1])}. Fragmentations: "
                 f"fixed {int(frags.get('fixed', 0))}, caused {int(frags.get('caused', 0))}, both "
                 f"{int(frags.get('both', 0))}. All events: `{link(run_dir / pe.folder / 'diff.csv', run_dir)}`.")
        doc.table(pe.by_vis.astype({"visibility": str}), f"ID switches {a} fixes and causes against {b}, by gt "
                  f"visibility at the switch ({context}).", f"tab:errors-vis-{safe_name(a)}-{safe_name(b)}")
        doc.table(pe.by_gap.astype({"gap": str}), f"ID switches {a} fixes and causes against {b}, by frames since "
                  f"the last match ({context}).", f"tab:errors-gap-{safe_name(a)}-{safe_name(b)}")
        if pe.no_images:
            doc.text(f"No strips for {', '.join(pe.no_images)}: no images to crop from (no `seqinfo.ini` with an "
                     "image folder, or no frames in it); their events and barcodes are shown.")
        if pe.over_budget:
            doc.text(f"{pe.over_budget} strips not drawn: the report's strips reached their size limit "
                     f"({STRIP_BYTES / 1e6:.0f} MB); lower `analysis.error_strips`.")
        for status in ("fixed", "caused"):
            shown = [(i, p) for i, p in pe.strips.items() if d.loc[i, "status"] == status]
            if shown:
                doc.text(f"Top {len(shown)} {status} switches (lowest visibility first):",
                         "\n".join(f"- [{md_text(d.loc[i, 'seq'])} gt {int(d.loc[i, 'gt_id'])} frame "
                                   f"{int(d.loc[i, 'frame'])}]({link(p, run_dir)})" for i, p in shown))
        doc.text("Identity timelines (A above B): " + ", ".join(
            f"[{md_text(s)}]({link(p, run_dir)})" for s, p in pe.barcodes.items()))
    return found
