import numpy as np
import pandas as pd

from bench.cache import ArrayCache
from bench.config import load_config
from bench.detections import PublicDetections, load_detections
from bench.suites import load_suite
from tests.test_suites import make_mot17_tree


def test_cache_hit_miss_and_invalidation(tmp_path):
    cache = ArrayCache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"a": [1.0, 2.0]})

    df, hit = cache.get_or_compute("detections", {"seq": "x", "params": {"t": 1}}, compute, label="S")
    assert not hit and len(calls) == 1
    df2, hit = cache.get_or_compute("detections", {"seq": "x", "params": {"t": 1}}, compute)
    assert hit and len(calls) == 1 and df2.equals(df)
    _, hit = cache.get_or_compute("detections", {"seq": "x", "params": {"t": 2}}, compute)
    assert not hit and len(calls) == 2
    assert len(cache.entries()) == 2
    assert cache.entries()[0].meta["label"] in ("S", "")
    assert cache.clear() == 2 and cache.entries() == []


def test_failed_compute_leaves_no_entry(tmp_path):
    cache = ArrayCache(tmp_path)

    def boom():
        raise RuntimeError("killed")

    try:
        cache.get_or_compute("detections", {"k": 1}, boom)
    except RuntimeError:
        pass
    assert cache.entries() == []
    assert not any((tmp_path / "detections").glob("*")) if (tmp_path / "detections").exists() else True


def test_public_detections_cached_and_invalidated_by_content(tmp_path):
    make_mot17_tree(tmp_path / "MOT17")
    suite = load_suite(str(tmp_path / "MOT17" / "train"), load_config(None))
    seq = suite.split("val")[0]
    cache = ArrayCache(tmp_path / "cache")
    frames, hit = load_detections(PublicDetections(), seq, cache)
    assert not hit and len(frames) == seq.info.length and frames[0].shape == (1, 5)
    frames2, hit = load_detections(PublicDetections(), seq, cache)
    assert hit and all(np.array_equal(a, b) for a, b in zip(frames, frames2))
    seq.det_path.write_text("1,-1,1,1,10,10,0.9,-1,-1,-1\n")
    frames3, hit = load_detections(PublicDetections(), seq, cache)
    assert not hit and sum(len(f) for f in frames3) == 1
