import numpy as np
import pandas as pd

from bench.core.cache import ArrayCache
from bench.core.config import load_config
from bench.detect.sources import PublicSource, load_detections
from bench.data.suites import load_suite
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
    frames, hit = load_detections(PublicSource(), seq, cache)
    assert not hit and len(frames) == seq.info.length and frames[0].shape == (1, 5)
    frames2, hit = load_detections(PublicSource(), seq, cache)
    assert hit and all(np.array_equal(a, b) for a, b in zip(frames, frames2))
    seq.det_path.write_text("1,-1,1,1,10,10,0.9,-1,-1,-1\n")
    frames3, hit = load_detections(PublicSource(), seq, cache)
    assert not hit and sum(len(f) for f in frames3) == 1


def _entry(cache, kind="detections"):
    (e,) = [e for e in cache.entries(kind)]
    return e


def test_damaged_entries_are_reported_deleted_and_rebuilt(tmp_path):
    """Truncated parquet, another entry's valid parquet copied over it, a missing meta: one warning each, rebuilt,
    and the result equals the clean value."""
    warnings = []
    cache = ArrayCache(tmp_path, warn=warnings.append)
    clean = {k: pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.arange(n) * 2}) for k, n in (("a", 50), ("b", 7))}
    calls = []

    def get(k):
        def compute():
            calls.append(k)
            return clean[k]

        return cache.get_or_compute("detections", {"seq": k}, compute, label=k)

    get("a"), get("b")
    path_a = [e.path for e in cache.entries() if e.meta["label"] == "a"][0]
    path_b = [e.path for e in cache.entries() if e.meta["label"] == "b"][0]

    def damage_truncate():
        path_a.write_bytes(path_a.read_bytes()[:100])

    def damage_copy():
        path_a.write_bytes(path_b.read_bytes())

    def damage_meta():
        path_a.with_suffix(".json").unlink()

    def damage_rows():  # a meta that disagrees about the row count (digest kept)
        meta = path_a.with_suffix(".json")
        meta.write_text(meta.read_text().replace('"rows": 50', '"rows": 51'))

    for damage, reason in ((damage_truncate, "sha256"), (damage_copy, "sha256"), (damage_meta, "No such file"),
                           (damage_rows, "not the recorded 51")):
        warnings.clear()
        calls.clear()
        damage()
        df, hit = get("a")
        assert not hit and calls == ["a"] and df.equals(clean["a"])
        assert len(warnings) == 1 and "damaged detections entry" in warnings[0] and "(a)" in warnings[0]
        assert reason in warnings[0] and "\n" not in warnings[0]
        df, hit = get("a")  # rebuilt entry is intact again
        assert hit and df.equals(clean["a"]) and len(warnings) == 1
    assert get("b")[1] and len(cache.entries()) == 2


def test_entry_without_digest_from_an_older_version_is_rebuilt(tmp_path):
    warnings = []
    cache = ArrayCache(tmp_path, warn=warnings.append)
    cache.get_or_compute("embeddings", {"k": 1}, lambda: pd.DataFrame({"a": [1.0]}))
    meta = _entry(cache, "embeddings").path.with_suffix(".json")
    meta.write_text(meta.read_text().replace('"sha256"', '"old"'))
    df, hit = cache.get_or_compute("embeddings", {"k": 1}, lambda: pd.DataFrame({"a": [1.0]}))
    assert not hit and "no sha256 recorded" in warnings[0]


def test_default_warning_goes_to_logging(tmp_path, caplog):
    cache = ArrayCache(tmp_path)
    cache.get_or_compute("detections", {"k": 1}, lambda: pd.DataFrame({"a": [1.0]}))
    _entry(cache).path.write_bytes(b"garbage")
    cache.get_or_compute("detections", {"k": 1}, lambda: pd.DataFrame({"a": [1.0]}))
    assert "damaged detections entry" in caplog.text
