from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.data.mot_io import SeqInfo, read_detections, read_gt, write_seqinfo
from bench.data.suites import load_suite


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


# ----------------------------------------------------------------------------------------------------------------
# Split layouts (issue 11.1), sequence folders without seqinfo (issue 8), generated-suite integrity (issue 8)


def make_seq(d: Path, n_frames: int = 6, gt: bool = True, det: bool = True, people: int = 2) -> Path:
    """One MOT20-style sequence (9-column gt with class/visibility) with real images."""
    (d / "img1").mkdir(parents=True)
    write_seqinfo(d, SeqInfo(name=d.name, length=n_frames, width=64, height=48, fps=25))
    for f in range(1, n_frames + 1):
        Image.new("RGB", (64, 48), (f * 10, 0, 0)).save(d / "img1" / f"{f:06d}.jpg")
    if gt:
        (d / "gt").mkdir()
        rows = [f"{f},{i + 1},{f + 10 * i},5,10,20,1,1,1.0\n" for f in range(1, n_frames + 1) for i in range(people)]
        (d / "gt" / "gt.txt").write_text("".join(rows))
    if det:
        (d / "det").mkdir()
        rows = [f"{f},-1,{f}.5,5,10,20,0.9,-1,-1,-1\n" for f in range(1, n_frames + 1)]
        (d / "det" / "det.txt").write_text("".join(rows))
    return d


def _cfg(tmp_path: Path, *extra: str):
    return load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", *extra])


def test_split_folders_feed_train_val_and_test(tmp_path):
    root = tmp_path / "MOT20"
    for name in ("MOT20-01", "MOT20-02"):
        make_seq(root / "train" / name)
    make_seq(root / "val" / "MOT20-03")
    make_seq(root / "test" / "MOT20-04", gt=False)
    suite = load_suite(str(root), _cfg(tmp_path))
    assert [s.name for s in suite.split("train")] == ["MOT20-01", "MOT20-02"]
    assert [s.name for s in suite.split("val")] == ["MOT20-03"]
    (test,) = suite.split("test")
    assert test.name == "MOT20-04" and not test.has_gt and suite.split("val")[0].has_gt
    assert suite.root == root / "val" == suite.gt_root("val") and suite.gt_root("test") == root / "test"
    assert suite.benchmark == "MOT20"  # MOT20-NN names: MOT20's protocol (issue 31; before, MOT17's)


def test_train_and_test_only_needs_a_val_split_or_half(tmp_path):
    root = tmp_path / "MOT20"
    make_seq(root / "train" / "MOT20-01", n_frames=7)
    make_seq(root / "test" / "MOT20-04", gt=False)
    with pytest.raises(BenchError, match="no val sequences.*suite.split"):
        load_suite(str(root), _cfg(tmp_path))
    suite = load_suite(str(root), _cfg(tmp_path, "suite.split='half'"))
    assert suite.name == "MOT20-half"
    (train,), (val,), (test,) = suite.split("train"), suite.split("val"), suite.split("test")
    # ByteTrack's rule: 7 frames, h = 3: train = 1..4, val = 5..7 renumbered from 1; test/ stays as it is
    assert (train.info.length, val.info.length) == (4, 3)
    assert (val.frame_offset, val.full_length, train.frame_offset) == (4, 7, 0)
    assert read_gt(val.gt_path)[:, 0].min() == 1 and val.image_path(1).resolve().name == "000005.jpg"
    assert test.path == root / "test" / "MOT20-04"
    assert suite.root == suite.gt_root("val")


def test_half_split_of_a_flat_folder_and_conflicts(tmp_path):
    flat = tmp_path / "flat"
    make_seq(flat / "A", n_frames=10)
    make_seq(flat / "B", n_frames=11)
    assert [s.split for s in load_suite(str(flat), _cfg(tmp_path)).sequences] == ["val", "val"]
    suite = load_suite(str(flat), _cfg(tmp_path, "suite.split='half'"))
    assert {(s.name, s.split, s.info.length) for s in suite.sequences} == {
        ("A", "train", 6), ("A", "val", 4), ("B", "train", 6), ("B", "val", 5)}
    both = tmp_path / "both"
    make_seq(both / "train" / "A")
    make_seq(both / "val" / "B")
    with pytest.raises(BenchError, match="has its own val/"):
        load_suite(str(both), _cfg(tmp_path, "suite.split='half'"))
    with pytest.raises(BenchError, match="own train/val split"):
        load_suite("synth", _cfg(tmp_path, "suite.split='half'"))
    with pytest.raises(BenchError, match="suite.split = .thirds. is not a valid choice"):
        _cfg(tmp_path, "suite.split='thirds'")


def test_sequence_folder_without_seqinfo_is_an_error_naming_it(tmp_path):
    root = tmp_path / "suite"
    make_seq(root / "A")
    make_seq(root / "B")
    make_seq(root / "C")
    (root / "notes").mkdir()  # not a sequence: ignored
    assert len(load_suite(str(root), _cfg(tmp_path)).split("val")) == 3
    (root / "C" / "seqinfo.ini").unlink()
    with pytest.raises(BenchError, match=r"suite/C: looks like a sequence"):
        load_suite(str(root), _cfg(tmp_path))
    (root / "C" / "seqinfo.ini").write_text("[Sequence]\nname=C\n")
    with pytest.raises(BenchError, match=r"C/seqinfo.ini: bad seqinfo.ini"):
        load_suite(str(root), _cfg(tmp_path))
    split = tmp_path / "split"
    make_seq(split / "val" / "A")
    (split / "val" / "B" / "gt").mkdir(parents=True)
    with pytest.raises(BenchError, match=r"val/B: looks like a sequence"):
        load_suite(str(split), _cfg(tmp_path))
    make_seq(split / "stray")
    with pytest.raises(BenchError, match="stray beside the split folders"):
        load_suite(str(split), _cfg(tmp_path))


TINY_SYNTH = ["synth.frames=8", "synth.num_train=1", "synth.num_val=1", "synth.people=4"]


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_damaged_synth_suite_is_regenerated_with_one_warning(tmp_path, capsys):
    cfg = _cfg(tmp_path, *TINY_SYNTH)
    suite = load_suite("synth", cfg)
    clean = _tree_bytes(suite.root)
    assert load_suite("synth", cfg).root == suite.root and capsys.readouterr().err == ""  # intact: reused silently
    val = suite.split("val")[0]
    damages = [
        lambda: val.gt_path.write_text(val.gt_path.read_text()[:-40]),  # truncated gt
        lambda: val.det_path.unlink(),  # missing det
        lambda: val.image_path(3).unlink(),  # missing image
        lambda: val.image_path(2).write_bytes(val.image_path(2).read_bytes()[:100]),  # truncated image
        lambda: (suite.root / "splits.json").write_text("{"),  # unreadable record
    ]
    for damage in damages:
        damage()
        again = load_suite("synth", cfg)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "failed its integrity check" in err and "regenerating" in err
        assert _tree_bytes(again.root) == clean


def test_synth_suite_without_digest_is_regenerated(tmp_path, capsys):
    import json

    cfg = _cfg(tmp_path, *TINY_SYNTH)
    root = load_suite("synth", cfg).root
    record = json.loads((root / "splits.json").read_text())
    del record["digest"]
    (root / "splits.json").write_text(json.dumps(record))
    load_suite("synth", cfg)
    assert "no file digest recorded" in capsys.readouterr().err
    assert "digest" in json.loads((root / "splits.json").read_text())


def test_damaged_half_split_is_regenerated(tmp_path, capsys):
    make_mot17_tree(tmp_path / "MOT17")
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", f"paths.mot17='{tmp_path / 'MOT17'}'"])
    val = load_suite("mot17-val", cfg).split("val")[0]
    clean = val.gt_path.read_text()
    val.gt_path.write_text("1,1,1,1,1,1,1,1,1\n")
    assert load_suite("mot17-val", cfg).split("val")[0].gt_path.read_text() == clean
    assert "val/MOT17-02-FRCNN/gt/gt.txt changed" in capsys.readouterr().err
    val.image_path(1).unlink()  # a symlink into the user's tree
    again = load_suite("mot17-val", cfg).split("val")[0]
    assert again.image_path(1).resolve().name == "000005.jpg" and "images" in capsys.readouterr().err
