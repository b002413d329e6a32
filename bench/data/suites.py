"""Suites: sets of MOTChallenge sequences, each in one split: train (Re-ID training), val (tracked and evaluated),
test (tracked, results written; evaluated only where it has gt).

- `synth` / `synth-crowd`: the embedded synthetic datasets, generated into the cache on first use.
- a folder (`--suite DIR`):
  - with `train/`, `val/` (and optionally `test/`) folders of sequences (the MOT20 and DanceTrack layouts): each
    folder is that split;
  - flat (`DIR/<SEQ>/seqinfo.ini`): every sequence is a val sequence;
  - `suite.split = "half"`: ByteTrack's half split of `DIR/train/` (or of the flat folder's sequences): the first
    half of each sequence trains, the second half is evaluated (`test/` stays test).
- `mot17-val`: the half split of the user's MOT17 `train/` folder, one public-detection variant per sequence.
All of them end up as the same `Suite` object, so everything downstream follows one code path.

Generated suites (synth, half splits) record a digest of their files when complete; a suite whose files no longer
match it is deleted and regenerated with one warning line.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.config import Config
from bench.core.errors import BenchError
from bench.data.benchmarks import choose
from bench.data.mot_fast import load_rows
from bench.core.fsutil import atomic_dir, atomic_write_json, file_digest, sha256_file, stable_hash
from bench.data.mot_io import SeqInfo, read_detections, read_gt, read_seqinfo, write_detections, write_gt, write_seqinfo

SPLITS = ("train", "val", "test")
SYNTH_SUITES = ("synth", "synth-crowd")
LAYOUT_HINT = (
    "a suite folder holds <SEQ>/seqinfo.ini, <SEQ>/img1/, <SEQ>/gt/gt.txt (and <SEQ>/det/det.txt), "
    "either directly or in train/, val/ (and test/) folders"
)


@dataclass(frozen=True)
class Sequence:
    name: str
    path: Path
    split: str
    info: SeqInfo
    # Half splits: frame f here is frame f + frame_offset of a source sequence that has source_length frames
    # (external detection files are in the source's frame numbers). 0 / 0 for a sequence that is its own source.
    frame_offset: int = 0
    source_length: int = 0

    @property
    def gt_path(self) -> Path:
        return self.path / "gt" / "gt.txt"

    @property
    def det_path(self) -> Path:
        return self.path / "det" / "det.txt"

    @property
    def has_gt(self) -> bool:
        return self.gt_path.is_file()

    @property
    def full_length(self) -> int:
        """Frames of the source sequence (this one's own length unless it is a half)."""
        return self.source_length or self.info.length

    def image_path(self, frame: int) -> Path:
        return self.path / self.info.im_dir / f"{frame:0{self.image_digits}d}{self.info.im_ext}"

    @functools.cached_property
    def image_digits(self) -> int:
        """Digits of the frame numbers in image names: 6 in MOTChallenge (000001.jpg), 8 in DanceTrack
        (00000001.jpg); decided by which name frame 1 has (6 when neither exists: the error names that file)."""
        folder = self.path / self.info.im_dir
        return next((n for n in (6, 8) if (folder / f"{1:0{n}d}{self.info.im_ext}").is_file()), 6)

    def fingerprint(self) -> str:
        """Content hash identifying this sequence for cache keys (seqinfo, detections, gt, image listing)."""
        files = [self.path / "seqinfo.ini"] + [p for p in (self.det_path, self.gt_path) if p.is_file()]
        img_dir = self.path / self.info.im_dir
        listing = sorted((p.name, p.stat().st_size) for p in img_dir.iterdir()) if img_dir.is_dir() else []
        return stable_hash([file_digest(*files), listing])


@dataclass(frozen=True)
class Suite:
    name: str
    root: Path  # folder holding the val <SEQ>/ dirs: the gt root for evaluating the val split
    sequences: tuple[Sequence, ...]
    benchmark: str  # whose evaluation protocol scores it (bench.data.benchmarks; never "auto")
    benchmark_reason: str = ""  # one line: why that benchmark

    def split(self, split: str) -> list[Sequence]:
        if split not in SPLITS:
            raise BenchError(f"unknown split {split!r}", hint=f"use one of {', '.join(SPLITS)}")
        return [s for s in self.sequences if s.split == split]

    def gt_root(self, split: str) -> Path:
        """The folder holding this split's sequences (TrackEval's gt root for it)."""
        parents = {s.path.parent for s in self.split(split)}
        if len(parents) != 1:
            raise BenchError(f"suite {self.name!r} has no single folder for its {split} split ({len(parents)})")
        return parents.pop()


def load_suite(name: str, cfg: Config) -> Suite:
    """Resolve a suite name (`synth`, `synth-crowd`, `mot17-val`) or a MOTChallenge-layout directory."""
    if name in SYNTH_SUITES:
        _no_half(name, cfg)
        return synth_suite(cfg, name)
    if name == "mot17-val":
        return mot17_val_suite(cfg)
    path = Path(name).expanduser()
    if path.is_dir():
        return directory_suite(path, cfg)
    raise BenchError(
        f"unknown suite {name!r}",
        hint="use 'synth', 'synth-crowd', 'mot17-val' or a directory in MOTChallenge layout (<dir>/<SEQ>/seqinfo.ini)",
    )


def _no_half(name: str, cfg: Config) -> None:
    if cfg.suite.split != "auto":
        raise BenchError(
            f"suite.split = {cfg.suite.split!r} applies to folder suites; {name!r} has its own train/val split",
            hint="use --set suite.split=auto",
        )


def warn(message: str) -> None:
    """One warning line on stderr (the CLI's errors go there too)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# Folders


def _looks_like_sequence(p: Path) -> bool:
    return p.is_dir() and ((p / "seqinfo.ini").exists() or any((p / d).is_dir() for d in ("gt", "det", "img1")))


def scan_sequences(folder: Path, split: str) -> list[Sequence]:
    """Every sequence folder in `folder`. A folder that looks like a sequence (gt/, det/ or img1/) but has no valid
    seqinfo.ini is an error naming it: dropping it would make COMBINED silently cover fewer sequences."""
    seqs = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not _looks_like_sequence(p):
            continue
        if not (p / "seqinfo.ini").is_file():
            raise BenchError(
                "looks like a sequence (has gt/, det/ or img1/) but has no seqinfo.ini",
                p,
                hint="add a seqinfo.ini ([Sequence] name, seqLength, imWidth, imHeight, frameRate) or move it out",
            )
        seqs.append(Sequence(name=p.name, path=p, split=split, info=read_seqinfo(p)))
    return seqs


def directory_suite(root: Path, cfg: Config) -> Suite:
    """A folder with train/, val/ (test/) split folders, or a flat folder of val sequences; `suite.split = "half"`
    splits train/ (or the flat sequences) ByteTrack's way."""
    mode = cfg.suite.split
    folders = [d for d in SPLITS if (root / d).is_dir()]
    if not folders:
        seqs = scan_sequences(root, "val")
        if not seqs:
            raise BenchError("no sequences found", root, hint=LAYOUT_HINT)
        if mode == "half":
            return half_split_suite(f"{root.name}-half", seqs, cfg)
        return _suite(root.name, seqs, cfg)

    stray = [p.name for p in sorted(root.iterdir()) if p.name not in SPLITS and _looks_like_sequence(p)]
    if stray:
        raise BenchError(
            f"sequence folders {', '.join(stray)} beside the split folders {', '.join(folders)}",
            root,
            hint="put every sequence into train/, val/ or test/",
        )
    by_split = {d: scan_sequences(root / d, d) for d in folders}
    test = by_split.get("test", [])
    if mode == "half":
        if "val" in by_split:
            raise BenchError(
                'suite.split = "half" splits train/, but this folder has its own val/',
                root,
                hint="use --set suite.split=auto to use train/ and val/ as they are",
            )
        if not by_split.get("train"):
            raise BenchError('suite.split = "half" needs sequences in train/', root, hint=LAYOUT_HINT)
        return half_split_suite(f"{root.name}-half", by_split["train"], cfg, extra=test)
    if not by_split.get("val"):
        raise BenchError(
            "no val sequences to evaluate: the folder has " + ", ".join(f"{d}/" for d in folders) + " but no val/",
            root,
            hint='set suite.split = "half" (--set suite.split=half) to evaluate the second half of each train/ '
            "sequence (ByteTrack's MOT17/MOT20 protocol), or add a val/ folder",
        )
    return _suite(root.name, by_split.get("train", []) + by_split["val"] + test, cfg)


def suite_benchmark(evaluated: list[Sequence], cfg: Config) -> tuple[str, str]:
    """(benchmark, one-line reason) for a suite whose evaluated sequences are `evaluated`: `suite.benchmark`, or
    with "auto" decided from their names and gt files (`bench.data.benchmarks.choose`)."""
    gts = [load_rows(s.gt_path, "gt") for s in evaluated if s.has_gt] if cfg.suite.benchmark == "auto" else []
    choice = choose(cfg.suite.benchmark, [s.name for s in evaluated], gts, source="suite.benchmark")
    return choice.name, choice.reason


def _suite(name: str, seqs: list[Sequence], cfg: Config) -> Suite:
    val = [s for s in seqs if s.split == "val"]
    root = val[0].path.parent
    return Suite(name, root, tuple(seqs), *suite_benchmark(val, cfg))


# ----------------------------------------------------------------------------------------------------------------
# Generated suites: written once into the cache, checked against their recorded digest on every use


def suite_digest(root: Path, rels: list[str]) -> dict[str, Any]:
    """Per sequence: sha256 of every file outside the image folder, and the image folder's file count and a hash of
    its (name, size) listing (hashing every image on every use would cost more than it protects)."""
    out: dict[str, Any] = {}
    for rel in rels:
        seq = root / rel
        im_dir = read_seqinfo(seq).im_dir
        files = sorted(p for p in seq.rglob("*") if p.is_file() and p.relative_to(seq).parts[0] != im_dir)
        images = sorted((p.name, p.stat().st_size) for p in (seq / im_dir).iterdir())
        out[rel] = {
            "files": {str(p.relative_to(seq)): sha256_file(p) for p in files},
            "images": len(images),
            "image_sizes": stable_hash(images),
        }
    return out


def _digest_problem(root: Path, record: dict[str, Any]) -> str | None:
    """Why the suite at `root` does not match its recorded digest, or None if it does."""
    if "digest" not in record:
        return "no file digest recorded (written by an older bench)"
    want = record["digest"]
    try:
        have = suite_digest(root, list(want))
    except (OSError, BenchError) as e:
        return f"unreadable ({e.__class__.__name__}: {e})"
    for rel, w in want.items():
        h = have[rel]
        if h["images"] != w["images"]:
            return f"{rel}: {h['images']} images, expected {w['images']}"
        if h["image_sizes"] != w["image_sizes"]:
            return f"{rel}: image files changed"
        for f in sorted(set(w["files"]) | set(h["files"])):
            if w["files"].get(f) != h["files"].get(f):
                return f"{rel}/{f} {'is missing' if f not in h['files'] else 'changed'}"
    return None


def generated_suite(root: Path, label: str, build: Callable[[Path], list[dict[str, Any]]],
                    meta: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The entries ({"rel", "split", ...} per sequence) of the suite generated at `root`, building it first if it is
    missing, or (one warning line) deleting and rebuilding it if its files do not match the recorded digest."""
    marker = root / "splits.json"
    if marker.is_file():
        try:
            record = json.loads(marker.read_text())
            entries = record["sequences"]
            problem = _digest_problem(root, record)
        except (OSError, ValueError, KeyError, TypeError) as e:
            problem = f"unreadable {marker.name} ({e.__class__.__name__})"
        if problem is None:
            return entries
        warn(f"{label} at {root} failed its integrity check ({problem}); deleting and regenerating it")
        shutil.rmtree(root)
    with atomic_dir(root) as tmp:
        entries = build(tmp)
        digest = suite_digest(tmp, [e["rel"] for e in entries])
        atomic_write_json(tmp / "splits.json", {**(meta or {}), "sequences": entries, "digest": digest})
    return entries


def _entry_sequence(root: Path, e: dict[str, Any]) -> Sequence:
    path = root / e["rel"]
    return Sequence(name=path.name, path=path, split=e["split"], info=read_seqinfo(path),
                    frame_offset=e.get("frame_offset", 0), source_length=e.get("source_length", 0))


def synth_suite(cfg: Config, name: str = "synth") -> Suite:
    """Generate (once) and load a synthetic suite; the folder name is the hash of the generator parameters."""
    from bench.data.synth.generate import generate_synth

    params = cfg.synth_crowd if name == "synth-crowd" else cfg.synth
    root = cfg.cache_dir / "synth" / stable_hash(params.to_dict())

    def build(tmp: Path) -> list[dict[str, Any]]:  # `run.jobs` 1 keeps the rendering in this process too
        return [{"rel": n, "split": s} for n, s in generate_synth(tmp, params, jobs=1 if cfg.run.jobs == 1 else None)]

    entries = generated_suite(root, f"synthetic suite {name!r}", build, {"params": params.to_dict()})
    seqs = tuple(_entry_sequence(root, e) for e in entries)
    return Suite(name, root, seqs, *suite_benchmark([s for s in seqs if s.split == "val"], cfg))


def half_split_suite(name: str, src: list[Sequence], cfg: Config, extra: list[Sequence] = ()) -> Suite:
    """ByteTrack's half split (convert_mot17_to_coco.py / convert_mot20_to_coco.py) of `src`, written as real
    MOTChallenge sequences into the cache; `extra` (test sequences) are kept as they are.

    With n frames and h = n // 2 the train half is frames 1..h+1 and the val half frames h+2..n, each renumbered
    from 1 (gt, det and images) so TrackEval scores the val half as its own sequence. Images are symlinked.
    """
    key = stable_hash(
        {
            "sources": [
                [str(s.path.resolve()), file_digest(*[p for p in (s.path / "seqinfo.ini", s.gt_path, s.det_path)
                                                      if p.is_file()])]
                for s in src
            ],
        }
    )
    out = cfg.cache_dir / "suites" / "half" / key

    def build(tmp: Path) -> list[dict[str, Any]]:
        entries = []
        for s in src:
            if not s.has_gt:
                raise BenchError("a half split needs gt for Re-ID training and evaluation", s.gt_path)
            half = s.info.length // 2
            if half < 1:
                raise BenchError(f"too short to split in halves ({s.info.length} frames)", s.path / "seqinfo.ini")
            for split, first, last in (("train", 1, half + 1), ("val", half + 2, s.info.length)):
                _write_frame_range(s, tmp / split / s.name, first, last)
                entries.append({"rel": f"{split}/{s.name}", "split": split, "frame_offset": first - 1,
                                "source_length": s.info.length})
        return entries

    # the benchmark from the source sequences: names and gt as the dataset wrote them
    benchmark = suite_benchmark(list(src), cfg)
    entries = generated_suite(out, f"half split of {src[0].path.parent}", build)
    seqs = [_entry_sequence(out, e) for e in entries] + list(extra)
    return Suite(name, out / "val", tuple(seqs), *benchmark)


def _write_frame_range(src: Sequence, dst: Path, first: int, last: int) -> None:
    """Write frames first..last of `src` as a sequence renumbered from 1 (gt, det, symlinked images)."""
    info, offset = src.info, first - 1
    (dst / "gt").mkdir(parents=True)
    img_dst = dst / info.im_dir
    img_dst.mkdir()
    for f in range(first, last + 1):
        target = src.image_path(f).resolve()
        os.symlink(target, img_dst / f"{f - offset:06d}{info.im_ext}")
    gt = read_gt(src.gt_path)
    gt = gt[(gt[:, 0] >= first) & (gt[:, 0] <= last)].copy()
    gt[:, 0] -= offset
    write_gt(dst / "gt" / "gt.txt", gt)
    if src.det_path.is_file():  # DanceTrack has no public detections
        (dst / "det").mkdir()
        dets = read_detections(src.det_path)
        dets = dets[(dets[:, 0] >= first) & (dets[:, 0] <= last)].copy()
        dets[:, 0] -= offset
        write_detections(dst / "det" / "det.txt", dets)
    write_seqinfo(dst, SeqInfo(name=info.name, length=last - first + 1, width=info.width, height=info.height,
                               fps=info.fps, im_dir=info.im_dir, im_ext=info.im_ext))


MOT17_HELP = (
    "download MOT17 from https://motchallenge.net/data/MOT17/ , unpack it so that <dir>/train/MOT17-02-FRCNN/ exists, "
    'then set paths.mot17 = "<dir>" in bench.toml or export BENCH_MOT17=<dir>'
)


def mot17_val_suite(cfg: Config) -> Suite:
    """MOT17's train/ folder, one public-detection variant (`mot17.detector`) per sequence, half split."""
    _no_half("mot17-val", cfg)
    root = cfg.mot17_root
    if root is None:
        raise BenchError("MOT17 is not configured", hint=MOT17_HELP)
    train = root / "train" if (root / "train").is_dir() else root
    det = cfg.mot17.detector
    dirs = sorted(p for p in train.glob(f"MOT17-*-{det}") if p.is_dir()) if train.is_dir() else []
    if not dirs:
        raise BenchError(f"no MOT17-*-{det} sequences found", train, hint=MOT17_HELP)
    src = [Sequence(name=p.name, path=p, split="train", info=read_seqinfo(p)) for p in dirs]
    return half_split_suite("mot17-val", src, cfg)


def seq_lengths(seqs: list[Sequence]) -> dict[str, int]:
    return {s.name: s.info.length for s in seqs}


__all__ = ["Sequence", "Suite", "load_suite", "seq_lengths"]
