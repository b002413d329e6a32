"""Which benchmark's evaluation protocol scores a suite, and what format its gt files are in.

A benchmark is TrackEval's `MotChallenge2DBox` with that benchmark's settings (`PROTOCOLS`):
- MOT15: no preprocessing (TrackEval never preprocesses MOT15): gt rows with conf 0 are dropped, classes ignored.
- MOT16, MOT17: tracker boxes matched (IoU ≥ 0.5) to a distractor (2 person on vehicle, 7 static person,
  8 distractor, 12 reflection) are removed; gt keeps class 1 (pedestrian) rows with conf ≠ 0.
- MOT20: as MOT17, and class 6 (non-motorized vehicle) is a distractor too.
- DanceTrack: what DanceTrack's own evaluation runs (its README: TrackEval's `run_mot_challenge.py` with the default
  BENCHMARK, i.e. MOT17's rules; mmtracking passes BENCHMARK='DanceTrack', which TrackEval treats the same way).
  DanceTrack's gt is `1,1,1` (conf, class, visibility) on every row, so nothing is removed on real DanceTrack gt.
- none: TrackEval with DO_PREPROC off: every gt row with conf ≠ 0 is kept whatever its class, no tracker box removed
  (the same rules as MOT15, named for data that is no MOTChallenge benchmark).

`suite.benchmark = "auto"` (and `--benchmark` unset) decides from the folder's own evidence: the evaluated
sequences' names (`MOT20-01`, `dancetrack0004`, MOT15's `TUD-Campus`, ...) and the gt files' format, decided per
file from every row (`gt_format`). Where that evidence does not decide the numbers (no names, gt with class 6, which
MOT17 and MOT20 treat differently) or contradicts itself, it is an error asking for the setting, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import BenchError

BENCHMARKS = ("auto", "MOT15", "MOT16", "MOT17", "MOT20", "DanceTrack", "none")  # suite.benchmark / --benchmark
CLASS_IDS = tuple(range(1, 14))  # MotChallenge2DBox's class ids (pedestrian ... crowd)
# benchmark → (TrackEval's BENCHMARK, DO_PREPROC)
PROTOCOLS = {"MOT15": ("MOT15", True), "MOT16": ("MOT16", True), "MOT17": ("MOT17", True), "MOT20": ("MOT20", True),
             "DanceTrack": ("DanceTrack", True), "none": ("MOT17", False)}
SETTING = "--benchmark (bench eval/compare) or suite.benchmark (bench.toml, --set suite.benchmark=...)"
NAME_PATTERNS = (  # sequence name (case-insensitive, from its start) → benchmark
    ("MOT16", r"MOT16-\d\d"),
    ("MOT17", r"MOT17-\d\d"),
    ("MOT20", r"MOT20-\d\d"),
    ("DanceTrack", r"dancetrack\d{4}"),
    ("MOT15", r"(ADL-Rundle-\d|AVG-TownCentre|ETH-(Bahnhof|Crossing|Jelmoli|Linthescher|Pedcross2|Sunnyday)|"
              r"KITTI-\d\d|PETS09-S2L\d|TUD-(Campus|Crossing|Stadtmitte)|Venice-\d)"),
)


def canonical(name: str) -> str:
    """The benchmark's spelling in `BENCHMARKS` (matched case-insensitively), or an error listing them."""
    for b in BENCHMARKS:
        if name.strip().lower() == b.lower():
            return b
    raise BenchError(f"unknown benchmark {name!r}", hint=f"use one of {', '.join(BENCHMARKS)}")


def preprocesses(benchmark: str) -> bool:
    """Does TrackEval remove distractor matches and non-pedestrian gt under this benchmark (needs classes 1-13)?"""
    te_name, do_preproc = PROTOCOLS[benchmark]
    return do_preproc and te_name != "MOT15"


@dataclass(frozen=True)
class GtFormat:
    """What a gt file holds, decided from all of its rows."""

    path: Path
    kind: str  # "classes" (MOT16/17/20, DanceTrack), "no-classes" (-1: MOT15), "world" (MOT15 world coords), "empty"
    classes: tuple[int, ...] = ()
    visibility: str | None = None  # "fraction" (0-1), "percent" (0-100) or None (no visibility column)

    def describe(self) -> str:
        if self.kind == "classes":
            vis = {"fraction": ", visibility 0-1", "percent": ", visibility in percent", None: ", no visibility"}
            return f"classes {', '.join(map(str, self.classes))}{vis[self.visibility]}"
        return {"no-classes": "no classes (-1: MOT15 layout)", "world": "world coordinates in columns 8-10 (MOT15 "
                "layout)", "empty": "no rows"}[self.kind]


def gt_format(f) -> GtFormat:
    """The format of one parsed gt file (`bench.data.mot_fast.TextRows`), from every row's class and visibility.

    Per row the class column (8th value) is a class id 1-13, -1 (no class: MOT15) or something else (MOT15's world
    coordinates, in 10-column files only). A file whose rows disagree (-1 on some, classes on others) is an error
    naming both lines: whichever reading were taken, part of the file would be scored against what it says.
    Visibility (9th value) is 0-1, or percent when some value exceeds 1 and none 100; -1 everywhere: none.
    """
    rows = f.rows
    if len(rows) == 0:
        return GtFormat(f.path, "empty")
    ncols = int(f.ncols.max())
    if ncols < 8:
        raise BenchError(f"ground truth needs at least 8 columns (frame,id,x,y,w,h,conf,class), got {ncols}", f.path,
                         int(f.lines[0]), hint="MOT15-style gt has -1 in the class column")
    cls = rows[:, 7]
    is_class = np.isin(cls, CLASS_IDS)
    is_none = cls == -1
    other = ~(is_class | is_none)
    if other.any():
        if ncols == 10 and (f.ncols == 10).all():  # MOT15 gt with world coordinates x, y, z in columns 8-10
            return GtFormat(f.path, "world")
        raise BenchError(f"class {cls[other][0]:g} is neither a class id 1-13 nor -1 (no class)", f.path,
                         f.line_of(other), hint=f"fix this line, or score without classes: set MOT15 or none "
                                                f"as the benchmark ({SETTING})")
    if is_class.any() and is_none.any():
        first = int(f.lines[0])
        odd = is_none if is_class[0] else is_class
        raise BenchError(
            f"mixed gt rows: line {first} has class {cls[0]:g} but this line has class {cls[odd][0]:g}", f.path,
            f.line_of(odd), hint=f"a gt file has classes 1-13 on every row (MOT16/17/20) or -1 on every row (MOT15); "
                                 f"fix the file, or score without classes: set MOT15 or none as the benchmark "
                                 f"({SETTING})")
    if is_none.all():
        return GtFormat(f.path, "no-classes")
    return GtFormat(f.path, "classes", tuple(int(c) for c in np.unique(cls)), _visibility(f))


def _visibility(f) -> str | None:
    if int(f.ncols.max()) < 9:
        return None
    vis = f.rows[:, 8]
    if (vis == -1).all():
        return None
    bad = (vis < 0) | (vis > 100)
    if bad.any():
        raise BenchError(f"visibility {vis[bad][0]:g} is neither 0-1 nor a percentage", f.path, f.line_of(bad),
                         hint="the 9th value is the box's visible fraction (0-1, or 0-100 in percent); fix this line")
    return "fraction" if vis.max() <= 1 else "percent"


def visibility_scale(f) -> float | None:
    """Factor that turns this gt's visibility column into a 0-1 fraction, or None when it has none (or no classes,
    so that column is not a visibility); 1.0 for a file without rows."""
    try:
        fmt = gt_format(f)
    except BenchError:
        return None
    if fmt.kind == "empty":
        return 1.0
    return {"fraction": 1.0, "percent": 0.01}.get(fmt.visibility) if fmt.kind == "classes" else None


def named_benchmark(names: Sequence[str]) -> tuple[str | None, str]:
    """(benchmark the sequence names point at or None, the names as evidence); names pointing at different
    benchmarks, or only some of them at one, are an error."""
    found: dict[str, list[str]] = {}
    unnamed = []
    for n in names:
        hit = next((b for b, pat in NAME_PATTERNS if re.match(pat, n, re.IGNORECASE)), None)
        (found.setdefault(hit, []) if hit else unnamed).append(n)
    if not found:
        return None, ""
    if len(found) > 1 or unnamed:
        parts = [f"{', '.join(v[:3])} ({b})" for b, v in found.items()] + (
            [f"{', '.join(unnamed[:3])} (no benchmark)"] if unnamed else [])
        raise BenchError(f"the sequence names point at different benchmarks: {'; '.join(parts)}",
                         hint=f"set the benchmark whose rules should score them all ({SETTING}), or evaluate them "
                              "separately")
    (bench_name, seqs), = found.items()
    return bench_name, f"sequence names {', '.join(seqs[:3])}{', ...' if len(seqs) > 3 else ''} are {bench_name}'s"


@dataclass(frozen=True)
class BenchmarkChoice:
    name: str  # one of BENCHMARKS except "auto"
    reason: str  # one line: what was chosen and why


def choose(setting: str | None, names: Sequence[str], gts: Sequence, source: str = "the benchmark setting"
           ) -> BenchmarkChoice:
    """The benchmark for these evaluated sequences (names) and their parsed gt files: `setting` when it names one
    (`source` says where it was set), else (None or "auto") decided from the evidence (see the module docstring)."""
    setting = canonical(setting) if setting else "auto"
    if setting != "auto":
        return BenchmarkChoice(setting, f"benchmark {setting}: set by {source}")
    formats = [gt_format(f) for f in gts]
    kinds = {fm.kind for fm in formats} - {"empty"}
    if len(kinds & {"classes"}) and len(kinds) > 1:
        a = next(fm for fm in formats if fm.kind == "classes")
        b = next(fm for fm in formats if fm.kind not in ("classes", "empty"))
        raise BenchError(f"this gt has {b.describe()} but {a.path} has {a.describe()}", b.path,
                         hint=f"evaluate them separately, or set the benchmark ({SETTING})")
    has_classes = kinds == {"classes"}
    classes = sorted({c for fm in formats for c in fm.classes})
    gt_text = _gt_evidence(formats, classes)
    named, name_text = named_benchmark(names)
    if named is not None:
        if named != "MOT15" and kinds and not has_classes:
            raise BenchError(f"the {name_text}, but the gt has {gt_text}: {named}'s rules need classes 1-13",
                             hint=f"set MOT15 or none as the benchmark to score without classes ({SETTING})")
        if named == "MOT15" and has_classes and classes != [1]:
            raise BenchError(f"the {name_text} (no preprocessing), but the gt has {gt_text}",
                             hint=f"set the benchmark ({SETTING}): MOT15 ignores the classes, MOT17 or MOT20 "
                                  "applies them")
        return BenchmarkChoice(named, f"benchmark {named} (auto): {name_text}; gt has {gt_text}")
    if not has_classes:
        return BenchmarkChoice("MOT15", f"benchmark MOT15 (auto): no benchmark in the sequence names; gt has "
                                        f"{gt_text}, scored without preprocessing as TrackEval scores MOT15")
    if 6 in classes:
        raise BenchError(f"cannot tell the benchmark: no benchmark in the sequence names, and the gt has {gt_text}; "
                         "class 6 (non-motorized vehicle) is a distractor under MOT20's rules but not MOT16/17's",
                         hint=f"set the benchmark ({SETTING}), e.g. MOT20 or MOT17")
    agree = ("every benchmark's rules give the same numbers on it" if classes == [1]
             else "MOT16, MOT17 and MOT20 rules agree on it (no class 6)")
    return BenchmarkChoice("MOT17", f"benchmark MOT17 (auto): no benchmark in the sequence names; gt has {gt_text}, "
                                    f"and {agree}")


def _gt_evidence(formats: list[GtFormat], classes: list[int]) -> str:
    kinds = {fm.kind for fm in formats} - {"empty"}
    if not kinds:
        return "no rows"
    if kinds == {"classes"}:
        vis = sorted({str(fm.visibility) for fm in formats if fm.kind == "classes"})
        vis_text = {"fraction": "visibility 0-1", "percent": "visibility in percent", "None": "no visibility"}
        return f"classes {', '.join(map(str, classes))} ({', '.join(vis_text[v] for v in vis)})"
    return " and ".join(sorted(GtFormat(Path(), k).describe() for k in kinds))


def detect_benchmark(gt_root: Path, seqs: Sequence[str]) -> BenchmarkChoice:
    """`choose` with no setting for the sequences `gt_root/<SEQ>/gt/gt.txt` (those that have gt)."""
    from bench.data.mot_fast import gt_path, load_rows

    files = [gt_path(gt_root, s) for s in seqs]
    return choose(None, list(seqs), [load_rows(p, "gt") for p in files if p.is_file()])
