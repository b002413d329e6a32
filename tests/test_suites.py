from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.config import load_config
from bench.errors import BenchError
from bench.mot_io import SeqInfo, read_detections, read_gt, write_seqinfo
from bench.suites import load_suite


def make_mot17_tree(root: Path, n_frames: int = 7) -> Path:
    """A tiny MOT17-shaped train/ tree with real file formats: two sequences, FRCNN and DPM variants."""
    for seq in ("MOT17-02", "MOT17-04"):
        for det in ("FRCNN", "DPM"):
            d = root / "train" / f"{seq}-{det}"
            (d / "img1").mkdir(parents=True)
            (d / "gt").mkdir()
            (d / "det").mkdir()
            write_seqinfo(d, SeqInfo(name=f"{seq}-{det}", length=n_frames, width=64, height=48, fps=30))
            for f in range(1, n_frames + 1):
                Image.new("RGB", (64, 48), (f * 10, 0, 0)).save(d / "img1" / f"{f:06d}.jpg")
            gt = [f"{f},1,{f},5,10,20,1,1,1.0\n{f},2,30,5,10,20,0,7,0.5\n" for f in range(1, n_frames + 1)]
            (d / "gt" / "gt.txt").write_text("".join(gt))
            dets = [f"{f},-1,{f}.5,5,10,20,{0.5 + f / 100},-1,-1,-1\n" for f in range(1, n_frames + 1)]
            (d / "det" / "det.txt").write_text("".join(dets))
    return root


def test_mot17_half_split_renumbers_val_half(tmp_path):
    make_mot17_tree(tmp_path / "MOT17")
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", f"paths.mot17='{tmp_path / 'MOT17'}'"])
    suite = load_suite("mot17-val", cfg)
    val = suite.split("val")
    assert [s.name for s in val] == ["MOT17-02-FRCNN", "MOT17-04-FRCNN"]
    assert len(suite.split("train")) == 2
    s = val[0]
    # 7 frames: h = 3, train half = frames 1..4, val half = frames 5..7 renumbered 1..3 (ByteTrack's convention)
    assert s.info.length == 3
    gt = read_gt(s.gt_path)
    assert sorted(set(gt[:, 0].astype(int))) == [1, 2, 3]
    np.testing.assert_allclose(gt[gt[:, 1] == 1][:, 2], [5, 6, 7])  # x == original frame number
    dets = read_detections(s.det_path)
    np.testing.assert_allclose(dets[:, 1], [5.5, 6.5, 7.5])
    assert s.image_path(1).resolve().name == "000005.jpg"
    assert Image.open(s.image_path(1)).getpixel((0, 0))[0] == pytest.approx(50, abs=3)
    assert suite.root.name == "val" and (suite.root / "MOT17-02-FRCNN" / "gt" / "gt.txt").is_file()
    train = suite.split("train")[0]
    assert train.info.length == 4
    # second load reuses the written split
    again = load_suite("mot17-val", cfg)
    assert again.root == suite.root


def test_mot17_detector_choice(tmp_path):
    make_mot17_tree(tmp_path / "MOT17")
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", f"paths.mot17='{tmp_path / 'MOT17'}'",
                             "mot17.detector='DPM'"])
    assert [s.name for s in load_suite("mot17-val", cfg).split("val")] == ["MOT17-02-DPM", "MOT17-04-DPM"]


def test_mot17_missing_path_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_MOT17", raising=False)
    cfg = load_config(None, [f"paths.cache='{tmp_path}'"])
    with pytest.raises(BenchError, match="BENCH_MOT17"):
        load_suite("mot17-val", cfg)
    cfg = load_config(None, [f"paths.cache='{tmp_path}'", f"paths.mot17='{tmp_path / 'nowhere'}'"])
    with pytest.raises(BenchError, match="train/MOT17-02-FRCNN"):
        load_suite("mot17-val", cfg)


def test_directory_suite(tmp_path):
    make_mot17_tree(tmp_path / "MOT17")
    suite = load_suite(str(tmp_path / "MOT17" / "train"), load_config(None))
    assert len(suite.split("val")) == 4
    assert suite.benchmark == "MOT17"
    with pytest.raises(BenchError, match="no sequences found"):
        load_suite(str(tmp_path), load_config(None))
    with pytest.raises(BenchError, match="unknown suite"):
        load_suite(str(tmp_path / "missing"), load_config(None))
