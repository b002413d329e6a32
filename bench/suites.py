"""Suites: sets of sequences in MOTChallenge layout plus a train/val split.

- `synth`: the embedded synthetic dataset, generated into the cache on first use (keyed by its parameters).
- `mot17-val`: the user's MOT17 train/ tree with ByteTrack's half split (val = second half of each sequence).
- any directory in MOTChallenge layout (`<dir>/<SEQ>/seqinfo.ini, img1/, gt/gt.txt, det/det.txt`): every
  sequence is a val sequence. This covers MOT20 and DanceTrack.
All three end up as the same `Suite` object, so everything downstream follows one code path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bench.config import Config
from bench.errors import BenchError
from bench.mot_text import detect_benchmark
from bench.fsutil import atomic_dir, atomic_write_json, file_digest, stable_hash
from bench.mot_io import SeqInfo, read_detections, read_gt, read_seqinfo, write_detections, write_gt, write_seqinfo

SPLITS = ("train", "val")


@dataclass(frozen=True)
class Sequence:
    name: str
    path: Path
    split: str
    info: SeqInfo

    @property
    def gt_path(self) -> Path:
        return self.path / "gt" / "gt.txt"

    @property
    def det_path(self) -> Path:
        return self.path / "det" / "det.txt"

    def image_path(self, frame: int) -> Path:
        return self.path / self.info.im_dir / f"{frame:06d}{self.info.im_ext}"

    def fingerprint(self) -> str:
        """Content hash identifying this sequence for cache keys (seqinfo, detections, gt, image listing)."""
        files = [self.path / "seqinfo.ini"] + [p for p in (self.det_path, self.gt_path) if p.is_file()]
        img_dir = self.path / self.info.im_dir
        listing = sorted((p.name, p.stat().st_size) for p in img_dir.iterdir()) if img_dir.is_dir() else []
        return stable_hash([file_digest(*files), listing])


@dataclass(frozen=True)
class Suite:
    name: str
    root: Path  # folder holding <SEQ>/ dirs: the gt root for evaluation
    sequences: tuple[Sequence, ...]
    benchmark: str  # TrackEval preprocessing style

    def split(self, split: str) -> list[Sequence]:
        if split not in SPLITS:
            raise BenchError(f"unknown split {split!r}", hint=f"use one of {', '.join(SPLITS)}")
        return [s for s in self.sequences if s.split == split]


def load_suite(name: str, cfg: Config) -> Suite:
    """Resolve a suite name (`synth`, `mot17-val`) or a MOTChallenge-layout directory."""
    if name == "synth":
        return synth_suite(cfg)
    if name == "mot17-val":
        return mot17_val_suite(cfg)
    path = Path(name)
    if path.is_dir():
        return directory_suite(path)
    raise BenchError(
        f"unknown suite {name!r}",
        hint="use 'synth', 'mot17-val' or a directory in MOTChallenge layout (<dir>/<SEQ>/seqinfo.ini)",
    )


def _sequence(seq_dir: Path, split: str) -> Sequence:
    info = read_seqinfo(seq_dir)
    return Sequence(name=seq_dir.name, path=seq_dir, split=split, info=info)


def synth_suite(cfg: Config) -> Suite:
    """Generate (once) and load the synthetic suite; the folder name is the hash of the generator parameters."""
    from bench.synth.generate import generate_synth

    params = cfg.synth
    root = cfg.cache_dir / "synth" / stable_hash(params.to_dict())
    marker = root / "splits.json"
    if not marker.is_file():
        with atomic_dir(root) as tmp:
            splits = generate_synth(tmp, params)
            atomic_write_json(tmp / "splits.json", {"params": params.to_dict(), "sequences": splits})
    splits = json.loads(marker.read_text())["sequences"]
    seqs = tuple(_sequence(root / name, split) for name, split in splits)
    return Suite(name="synth", root=root, sequences=seqs, benchmark="MOT17")


def directory_suite(root: Path) -> Suite:
    """Any MOTChallenge-layout folder: every sub-folder with a seqinfo.ini is a val sequence."""
    seq_dirs = sorted(p for p in root.iterdir() if (p / "seqinfo.ini").is_file())
    if not seq_dirs:
        raise BenchError(
            "no sequences found",
            root,
            hint="a suite folder holds <SEQ>/seqinfo.ini, <SEQ>/img1/, <SEQ>/gt/gt.txt, <SEQ>/det/det.txt",
        )
    seqs = [_sequence(p, "val") for p in seq_dirs]
    return Suite(
        name=root.name, root=root, sequences=tuple(seqs), benchmark=detect_benchmark(root, [s.name for s in seqs])
    )


MOT17_HELP = (
    "download MOT17 from https://motchallenge.net/data/MOT17/ , unpack it so that <dir>/train/MOT17-02-FRCNN/ exists, "
    'then set paths.mot17 = "<dir>" in bench.toml or export BENCH_MOT17=<dir>'
)


def mot17_val_suite(cfg: Config) -> Suite:
    """MOT17 train/ with ByteTrack's half split, written as real MOTChallenge sequences into the cache.

    As in ByteTrack's convert_mot17_to_coco.py, with n frames and h = n // 2: the train half is frames 1..h+1 and the
    val half is frames h+2..n, renumbered from 1 (gt, det and images) so TrackEval scores it as its own sequence.
    Images are symlinked, not copied.
    """
    root = cfg.mot17_root
    if root is None:
        raise BenchError("MOT17 is not configured", hint=MOT17_HELP)
    train = root / "train" if (root / "train").is_dir() else root
    det = cfg.mot17.detector
    src = sorted(p for p in train.glob(f"MOT17-*-{det}") if p.is_dir()) if train.is_dir() else []
    if not src:
        raise BenchError(f"no MOT17-*-{det} sequences found", train, hint=MOT17_HELP)
    key = stable_hash(
        {
            "root": str(train.resolve()),
            "det": det,
            "seqs": [file_digest(p / "seqinfo.ini", p / "gt" / "gt.txt", p / "det" / "det.txt") for p in src],
        }
    )
    out = cfg.cache_dir / "suites" / "mot17-half" / key
    if not (out / "splits.json").is_file():
        with atomic_dir(out) as tmp:
            splits = []
            for seq_dir in src:
                info = read_seqinfo(seq_dir)
                half = info.length // 2
                for split, first, last in (("train", 1, half + 1), ("val", half + 2, info.length)):
                    _write_frame_range(seq_dir, info, tmp / split / seq_dir.name, first, last)
                    splits.append((f"{split}/{seq_dir.name}", split))
            atomic_write_json(tmp / "splits.json", {"sequences": splits})
    splits = json.loads((out / "splits.json").read_text())["sequences"]
    seqs = tuple(_sequence(out / rel, split) for rel, split in splits)
    # The gt root for evaluation is the val folder: sequence names there are plain MOT17-XX-DET.
    val = tuple(Sequence(s.path.name, s.path, s.split, s.info) for s in seqs)
    return Suite(name="mot17-val", root=out / "val", sequences=val, benchmark="MOT17")


def _write_frame_range(src: Path, info: SeqInfo, dst: Path, first: int, last: int) -> None:
    """Write frames first..last of `src` as a sequence renumbered from 1 (gt, det, symlinked images)."""
    offset = first - 1
    (dst / "gt").mkdir(parents=True)
    (dst / "det").mkdir()
    img_dst = dst / info.im_dir
    img_dst.mkdir()
    for f in range(first, last + 1):
        target = (src / info.im_dir / f"{f:06d}{info.im_ext}").resolve()
        os.symlink(target, img_dst / f"{f - offset:06d}{info.im_ext}")
    gt_file = src / "gt" / "gt.txt"
    if gt_file.is_file():
        gt = read_gt(gt_file)
        gt = gt[(gt[:, 0] >= first) & (gt[:, 0] <= last)].copy()
        gt[:, 0] -= offset
        write_gt(dst / "gt" / "gt.txt", gt)
    dets = read_detections(src / "det" / "det.txt")
    dets = dets[(dets[:, 0] >= first) & (dets[:, 0] <= last)].copy()
    dets[:, 0] -= offset
    write_detections(dst / "det" / "det.txt", dets)
    write_seqinfo(
        dst,
        SeqInfo(
            name=info.name,
            length=last - first + 1,
            width=info.width,
            height=info.height,
            fps=info.fps,
            im_dir=info.im_dir,
            im_ext=info.im_ext,
        ),
    )


def seq_lengths(seqs: list[Sequence]) -> dict[str, int]:
    return {s.name: s.info.length for s in seqs}


__all__ = ["Sequence", "Suite", "load_suite", "seq_lengths"]
