"""Detection sources: the `files` source (another pipeline's saved detections), its cache key and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.cache import ArrayCache
from bench.core.config import load_config
from bench.detect.sources import FileSource, PublicSource, load_detections, make_source
from bench.core.errors import BenchError
from bench.data.suites import load_suite
from tests.test_suites import make_seq


def _det_file(path, frames, x0=1.0, score=0.8):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{f},-1,{x0 + f},7,12,24,{score},-1,-1,-1\n" for f in frames))


def test_files_source_reads_seq_files_and_caches_by_content(tmp_path):
    make_seq(tmp_path / "suite" / "A", n_frames=5)
    dets = tmp_path / "yolox-out"
    _det_file(dets / "A.txt", [1, 2, 2, 5])
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", "run.detections='files'",
                             f"detections.files.dir='{dets}'"])
    (seq,) = load_suite(str(tmp_path / "suite"), cfg).split("val")
    source = make_source(cfg, "cpu")
    assert isinstance(source, FileSource)
    cache = ArrayCache(cfg.cache_dir)
    frames, hit = load_detections(source, seq, cache)
    assert not hit and [len(f) for f in frames] == [1, 2, 0, 0, 1]
    np.testing.assert_allclose(frames[0][0], [2.0, 7.0, 14.0, 31.0, 0.8])
    assert load_detections(source, seq, cache)[1]  # same content: served from the cache
    # The key is the content, not the path: a copy elsewhere hits, an edited file misses.
    other = tmp_path / "copy"
    other.mkdir()
    (other / "A.txt").write_bytes((dets / "A.txt").read_bytes())
    assert load_detections(FileSource(other), seq, cache)[1]
    _det_file(dets / "A.txt", [1, 2, 2, 5], score=0.7)
    frames, hit = load_detections(source, seq, cache)
    assert not hit and frames[0][0][4] == pytest.approx(0.7)
    # The public detections of the same sequence are another entry.
    pub, hit = load_detections(PublicSource(), seq, cache)
    assert not hit and pub[0][0][0] == pytest.approx(1.5)


def test_files_source_errors_name_the_missing_file(tmp_path):
    make_seq(tmp_path / "suite" / "A")
    dets = tmp_path / "dets"
    _det_file(dets / "B.txt", [1])
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", "run.detections='files'",
                             f"detections.files.dir='{dets}'"])
    (seq,) = load_suite(str(tmp_path / "suite"), cfg).split("val")
    with pytest.raises(BenchError, match=r"dets/A.txt: no detection file for sequence A .*it has 1 .txt: B"):
        load_detections(make_source(cfg, "cpu"), seq, ArrayCache(cfg.cache_dir))
    _det_file(dets / "A.txt", [1, 9])  # the sequence has 6 frames
    with pytest.raises(BenchError, match=r"A.txt: frame 9 is beyond the sequence's 6 frames"):
        load_detections(make_source(cfg, "cpu"), seq, ArrayCache(cfg.cache_dir))
    with pytest.raises(BenchError, match="detections.files.dir is not set"):
        load_config(None, ["run.detections='files'"])
    bad = load_config(None, ["run.detections='files'", f"detections.files.dir='{tmp_path / 'nowhere'}'"])
    with pytest.raises(BenchError, match="not a folder"):
        make_source(bad, "cpu")


def test_files_source_on_a_half_split_takes_that_half_renumbered(tmp_path):
    make_seq(tmp_path / "MOT20" / "train" / "MOT20-01", n_frames=7)
    dets = tmp_path / "dets"
    _det_file(dets / "MOT20-01.txt", range(1, 8))
    cfg = load_config(None, [f"paths.cache='{tmp_path / 'cache'}'", "suite.split='half'", "run.detections='files'",
                             f"detections.files.dir='{dets}'"])
    suite = load_suite(str(tmp_path / "MOT20"), cfg)
    source, cache = make_source(cfg, "cpu"), ArrayCache(cfg.cache_dir)
    (val,), (train,) = suite.split("val"), suite.split("train")
    frames, _ = load_detections(source, val, cache)  # val half = frames 5..7 → 1..3
    assert [f[0][0] for f in frames] == [6.0, 7.0, 8.0]
    frames, _ = load_detections(source, train, cache)  # train half = frames 1..4
    assert [f[0][0] for f in frames] == [2.0, 3.0, 4.0, 5.0]
