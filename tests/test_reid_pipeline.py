"""Crops, retrieval metrics, training determinism, checkpoints and the embedding cache on a tiny synth suite."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bench.core.cache import ArrayCache
from bench.core.config import apply_overrides, load_config
from bench.appearance.crops import crop_boxes
from bench.detect.sources import PublicSource, load_detections
from bench.appearance.embeddings import load_embeddings
from bench.core.errors import BenchError
from bench.appearance.checkpoints import checkpoint_path, ensure_checkpoint, load_checkpoint, train_checkpoint
from bench.data.suites import load_suite
from bench.present.report import _precision_note
from trackers.reid.metrics import retrieval_metrics
from trackers.reid.train import training_precision

TINY = ["synth.frames=30", "synth.num_train=1", "synth.num_val=1", "synth.people=8", "run.jobs=1",
        "reid.deepsort.model.width=0.125", "reid.deepsort.model.input_size=[32, 16]",
        "reid.deepsort.train.epochs=1", "reid.deepsort.train.p=4", "reid.deepsort.train.k=2",
        "reid.deepsort.train.frame_stride=3"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("reid")
    cfg = load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'"])
    return cfg, load_suite("synth", cfg)


def test_crop_boxes_content_clipping_and_outside():
    img = np.zeros((40, 60, 3), dtype=np.uint8)
    img[10:30, 20:30] = (200, 100, 50)
    crops = crop_boxes(img, np.array([[20, 10, 30, 30], [-10, -10, 5, 5], [100, 100, 120, 130]]), (8, 4))
    assert crops.shape == (3, 3, 8, 4) and crops.dtype == torch.uint8
    assert (crops[0, 0] == 200).all() and (crops[0, 2] == 50).all()
    assert (crops[1] == 0).all()  # clipped to the black corner
    assert (crops[2] == 0).all()  # entirely outside: zeros


def test_retrieval_metrics_hand_case():
    feats = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.8, 0.2]], dtype=np.float64)
    ids = np.array(["a", "a", "b", "b", "b"])
    seqs = np.array(["s"] * 5)
    frames = np.array([1, 100, 1, 100, 200])
    m = retrieval_metrics(feats, ids, seqs, frames, np.array([0, 2]), min_frame_gap=25)
    # query 0 (a): gallery 1(a), 2(b), 3(b), 4(b) ranked by cos: 1 (0.994), 4 (0.970), 3, 2 → AP 1, rank-1 hit
    # query 2 (b): gallery 0(a),1(a),3(b),4(b): 3 (0.994), 4 (0.243), 1 (0.110), 0 (0) → AP 1, hit
    assert m["mAP"] == pytest.approx(1.0) and m["rank1"] == 1.0 and m["queries"] == 2
    # near-duplicate exclusion: with a huge frame gap every same-id gallery item is excluded → no queries count
    assert retrieval_metrics(feats, ids, seqs, frames, np.array([0]), min_frame_gap=1000)["queries"] == 0
    # a query whose positive ranks second: AP 0.5
    feats2 = np.array([[1, 0], [0, 1], [0.9, 0.3]], dtype=np.float64)
    m2 = retrieval_metrics(feats2, np.array(["a", "a", "b"]), np.array(["s"] * 3), np.array([1, 50, 100]),
                           np.array([0]))
    assert m2["mAP"] == pytest.approx(0.5) and m2["rank1"] == 0.0


def one_query_at_a_time(feats, ids, seqs, frames, query_idx, min_frame_gap):
    """The metric as first written: one similarity row per query, a stable argsort of its whole gallery."""
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True).clip(min=1e-12)
    aps, top1 = [], []
    for q in query_idx:
        sims = feats @ feats[q]
        same_id = ids == ids[q]
        valid = ~(same_id & (seqs == seqs[q]) & (np.abs(frames - frames[q]) < min_frame_gap))
        valid[q] = False
        positives = same_id & valid
        if not positives.any():
            continue
        hits = positives[valid][np.argsort(-sims[valid], kind="stable")]
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        top1.append(float(hits[0]))
    return (float(np.mean(aps)), float(np.mean(top1)), len(aps)) if aps else (None, None, 0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 90), dims=st.integers(1, 6), n_ids=st.integers(1, 8), gap=st.integers(0, 30),
       one_hot=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_blocked_retrieval_metrics_equal_the_one_query_loop(n, dims, n_ids, gap, one_hot, seed):
    """Ranking by bisection, ties sorted in full, queries in blocks: the same mAP / rank-1 / query count as ranking
    each query's whole gallery. One-hot features make every similarity exactly 0 or 1 (ties everywhere, exact in
    both), so those cases must agree to the bit; random features to rounding (a block is one matrix product)."""
    rng = np.random.default_rng(seed)
    feats = (np.eye(dims, dtype=np.float32)[rng.integers(0, dims, n)] if one_hot
             else rng.normal(size=(n, dims)).astype(np.float32))
    ids = np.array([f"s{i % 2}:{i}" for i in rng.integers(0, n_ids, n)])
    seqs = np.array([s.split(":")[0] for s in ids])
    frames = rng.integers(1, 60, n)
    queries = np.flatnonzero(rng.random(n) < 0.5)
    got = retrieval_metrics(feats, ids, seqs, frames, queries, gap)
    want_map, want_rank1, want_queries = one_query_at_a_time(feats, ids, seqs, frames, queries, gap)
    assert got["queries"] == want_queries
    if want_queries == 0:
        assert np.isnan(got["mAP"]) and np.isnan(got["rank1"])
    elif one_hot:
        assert (got["mAP"], got["rank1"]) == (want_map, want_rank1)
    else:
        assert got["mAP"] == pytest.approx(want_map, abs=1e-9) and got["rank1"] == want_rank1


def test_training_is_deterministic_and_checkpoint_has_metrics(tiny):
    cfg, suite = tiny
    first = train_checkpoint(cfg, "deepsort", suite, seed=0, device="cpu")
    payload1 = torch.load(first.path, weights_only=True)
    first.path.rename(first.path.with_suffix(".bak"))
    second = train_checkpoint(cfg, "deepsort", suite, seed=0, device="cpu")
    payload2 = torch.load(second.path, weights_only=True)
    for k, v in payload1["state_dict"].items():
        assert torch.equal(v, payload2["state_dict"][k]), k
    assert 0 <= payload1["metrics"]["mAP"] <= 1 and payload1["metrics"]["queries"] > 0
    assert payload1["model_config"]["name"] == "global" and payload1["num_classes"] >= 4
    assert ensure_checkpoint(cfg, "deepsort", suite, 0, "cpu") == second.path  # cached: not retrained


@pytest.mark.parametrize("setting", ["fp32", "bf16", "auto"])
def test_checkpoint_records_the_precision_it_trained_in(tiny, setting):
    """train.precision as resolved on this machine is in the checkpoint (so in a run's manifest) and the report's
    model line; bf16 and fp32 are different models (the setting is part of the cache key)."""
    cfg, suite = tiny
    chosen = apply_overrides(cfg, [f"reid.deepsort.train.precision={setting}"])
    out = train_checkpoint(chosen, "deepsort", suite, seed=0, device="cpu")
    _, meta = load_checkpoint(out.path, "cpu")  # what a run's manifest records under `reid`
    expected = training_precision(setting, "cpu")
    assert meta["precision"] == expected and meta["train_config"]["precision"] == setting
    assert (_precision_note(meta) == " in bf16 mixed precision") == (expected == "bf16")
    others = {s for s in ("fp32", "bf16") if s != setting}
    for other in others:
        changed = apply_overrides(cfg, [f"reid.deepsort.train.precision={other}"])
        assert checkpoint_path(changed, changed.reid.deepsort, suite, 0) != out.path


def test_embedding_cache_hits_and_invalidates_on_checkpoint_change(tiny):
    cfg, suite = tiny
    seq = suite.split("val")[0]
    cache = ArrayCache(cfg.cache_dir)
    frames, _ = load_detections(PublicSource(), seq, cache)
    det_key = {"source": "public", "params": PublicSource().params()}
    path = ensure_checkpoint(cfg, "deepsort", suite, 0, "cpu")
    embedder, meta = load_checkpoint(path, "cpu")
    feats, hit = load_embeddings(embedder, seq, frames, det_key, cache)
    assert not hit
    assert [len(f) for f in feats] == [len(d) for d in frames]
    nonempty = np.concatenate([f for f in feats if len(f)])
    np.testing.assert_allclose(np.linalg.norm(nonempty, axis=1), 1.0, rtol=1e-5)
    again, hit = load_embeddings(embedder, seq, frames, det_key, cache)
    assert hit and all(np.array_equal(a, b) for a, b in zip(feats, again))
    other = train_checkpoint(cfg, "deepsort", suite, seed=1, device="cpu").path  # another checkpoint
    assert other != path and other == checkpoint_path(cfg, cfg.reid.deepsort, suite, 1)
    embedder2, meta2 = load_checkpoint(other, "cpu")
    assert meta2["sha256"] != meta["sha256"]
    _, hit = load_embeddings(embedder2, seq, frames, det_key, cache)
    assert not hit


def test_models_of_a_run_share_a_sequences_crops_and_get_the_same_features(tiny, monkeypatch):
    """Two models of one input size cut a sequence's detection crops once (SharedCrops), and each gets exactly the
    features it gets alone; a model of another input size cuts its own."""
    import bench.appearance.embeddings as embeddings
    from bench.appearance.embeddings import SharedCrops

    cfg, suite = tiny
    seq = suite.split("val")[0]
    cache = ArrayCache(cfg.cache_dir)
    frames, _ = load_detections(PublicSource(), seq, cache)
    det_key = {"source": "public", "params": PublicSource().params()}
    embedders = [load_checkpoint(ensure_checkpoint(cfg, "deepsort", suite, s, "cpu"), "cpu")[0] for s in (0, 1)]
    alone = [np.concatenate(load_embeddings(e, seq, frames, det_key, ArrayCache(cfg.cache_dir / f"alone{i}"))[0])
             for i, e in enumerate(embedders)]
    cut = []
    real = embeddings.sequence_crops
    monkeypatch.setattr(embeddings, "sequence_crops", lambda *a: cut.append(a[2]) or real(*a))
    crops = SharedCrops(seq, frames)
    shared = [np.concatenate(load_embeddings(e, seq, frames, det_key, ArrayCache(cfg.cache_dir / f"shared{i}"),
                                             crops)[0]) for i, e in enumerate(embedders)]
    assert len(cut) == 1 and all(np.array_equal(a, b) for a, b in zip(alone, shared))
    assert not np.array_equal(shared[0], shared[1])  # two models, two sets of features
    size = tuple(embedders[0].input_size)
    assert crops((size[0] // 2, size[1] // 2)).shape[-2:] == (size[0] // 2, size[1] // 2) and len(cut) == 2


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(BenchError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt", "cpu")
    bad = tmp_path / "bad.pt"
    torch.save({"hello": 1}, bad)
    with pytest.raises(BenchError, match="not a bench Re-ID checkpoint"):
        load_checkpoint(bad, "cpu")


def test_checkpoint_key_follows_code_and_config(tiny, monkeypatch):
    from bench.core.config import apply_overrides

    cfg, suite = tiny
    base = checkpoint_path(cfg, cfg.reid.deepsort, suite, 0)
    assert checkpoint_path(cfg, cfg.reid.deepsort, suite, 0) == base
    other = apply_overrides(cfg, ["reid.deepsort.train.lr=0.01"])
    assert checkpoint_path(other, other.reid.deepsort, suite, 0) != base
    monkeypatch.setattr("bench.appearance.checkpoints.code_fingerprint", lambda: "edited-model-code")
    assert checkpoint_path(cfg, cfg.reid.deepsort, suite, 0) != base


def test_identity_crops_are_reused_until_the_gt_changes(tiny):
    from bench.appearance.identity_crops import gt_crops, reused_gt_crops

    _, suite = tiny
    seqs = suite.split("train")
    first = reused_gt_crops(seqs, (32, 16), 0.3, 3)
    assert reused_gt_crops(seqs, (32, 16), 0.3, 3) is first  # the second model of a run decodes nothing
    fresh = gt_crops(seqs, (32, 16), 0.3, 3)
    assert torch.equal(first.crops, fresh.crops) and (first.labels == fresh.labels).all()
    assert reused_gt_crops(seqs, (32, 16), 0.3, 1) is not first  # another stride is another set
    gt = seqs[0].gt_path
    rows = gt.read_text().splitlines()
    gt.write_text("\n".join(rows[: len(rows) // 2]) + "\n")  # an edited gt is read again
    try:
        edited = reused_gt_crops(seqs, (32, 16), 0.3, 3)
        assert edited is not first and len(edited) < len(first)
    finally:
        gt.write_text("\n".join(rows) + "\n")
