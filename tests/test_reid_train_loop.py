"""The fast training loop and forward paths (issue 12.5) against straightforward reference code.

On the CPU in fp32 they must be bit-identical (same seed ⇒ same weights, losses and embeddings, so tracking results
do not move); the CUDA-only paths (bf16 autocast, channels_last, the sync-free triplet mean) are exercised on the
CPU where torch allows it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.appearance.code_fingerprint import inference_fingerprint
from bench.appearance.embeddings import Embedder
from trackers.reid.finetrack_model import FlowAlignedMerge
from trackers.reid.losses import batch_hard_triplet_loss
from trackers.reid.configs import ModelConfig, TrainConfig
from trackers.reid.preprocess import normalise
from trackers.reid.samplers import PKSampler
from trackers.reid.train import (_augment_batched, apply_augmentation, draw_augmentation, lr_factor, train,
                                 training_precision)

TINY = {"width": 0.125, "input_size": (32, 16)}


def reference_augment(batch: torch.Tensor, cfg: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """The per-sample loop the batched augmentation replaced."""
    n, _, h, w = batch.shape
    if cfg.flip:
        flip = torch.rand(n, generator=gen) < 0.5
        batch = torch.where(flip.view(n, 1, 1, 1), batch.flip(3), batch)
    if cfg.pad_crop > 0:
        p = cfg.pad_crop
        padded = F.pad(batch, (p, p, p, p))
        dx = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        batch = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    return batch


def reference_train(model, crops, labels, cfg, seed, sampler, loss_fn):
    """The loop before issue 12.5: per-step float() reads, CPU augmentation, Python float sums (in the weight layout
    train() uses on the CPU, channels_last: which oneDNN kernels run is a speed choice, not the loop's logic)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(memory_format=torch.channels_last).train()
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch, labels_t, history, it = len(sampler), torch.as_tensor(labels, dtype=torch.long), [], 0
    for epoch in range(cfg.epochs):
        sampler.set_epoch(epoch)
        sums: dict[str, float] = {}
        for batch_idx in sampler:
            idx = torch.as_tensor(batch_idx, dtype=torch.long)
            x = normalise(reference_augment(crops[idx], cfg, gen))
            for group in optim.param_groups:
                group["lr"] = cfg.lr * lr_factor(cfg, it, per_epoch * cfg.epochs, per_epoch)
            losses = loss_fn(model(x), labels_t[idx])
            optim.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optim.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            it += 1
        history.append({k: v / per_epoch for k, v in sums.items()})
    model.to(memory_format=torch.contiguous_format).eval()
    return history


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), h=st.integers(1, 9), w=st.integers(1, 9), pad=st.integers(0, 4), flip=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_batched_augmentation_equals_per_sample_loop(n, h, w, pad, flip, seed):
    cfg = TrainConfig(flip=flip, pad_crop=pad)
    batch = torch.randint(0, 256, (n, 3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    """Both implementations: one strided copy per crop (the CPU's, into channels_last) and the gathers (CUDA's)."""
    ours = apply_augmentation(batch, cfg, draw_augmentation(n, cfg, torch.Generator().manual_seed(seed)))
    ref = reference_augment(batch, cfg, torch.Generator().manual_seed(seed))
    assert ours.dtype == torch.uint8 and torch.equal(ours, ref)
    assert ours is batch or ours.is_contiguous(memory_format=torch.channels_last)
    draws = draw_augmentation(n, cfg, torch.Generator().manual_seed(seed))
    flips = draws.pop(0) if flip else None
    assert torch.equal(_augment_batched(batch, pad, flips, draws), ref)


def _data(n_ids: int = 6, per_id: int = 4):
    crops = torch.randint(0, 256, (n_ids * per_id, 3, *TINY["input_size"]),
                          generator=torch.Generator().manual_seed(5), dtype=torch.uint8)
    return crops, np.repeat(np.arange(n_ids), per_id)


@pytest.mark.parametrize("name", ["finetrack", "global"])
def test_cpu_training_is_bit_identical_to_the_reference_loop(name):
    crops, labels = _data()
    mc = ModelConfig.for_name(name, **TINY, **({"k": 2} if name == "finetrack" else {}))
    cfg = TrainConfig(epochs=2, p=3, k=2, warmup_epochs=0.5, precision="fp32")
    results = []
    for loop in (train, reference_train):
        torch.manual_seed(1)
        model = mc.build(6)
        sampler = PKSampler(labels, 3, 2, seed=1, batches_per_epoch=3)
        history = loop(model, crops, labels, cfg, 1, sampler, mc.make_loss(cfg))
        results.append((history, model.state_dict()))
    (h1, s1), (h2, s2) = results
    assert h1 == h2
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert all(v.is_contiguous() for v in s1.values())  # trained in channels_last, handed back in NCHW
    assert not torch.equal(s1["backbone.stem.0.weight"], mc.build(6).state_dict()["backbone.stem.0.weight"])


def test_bf16_precision_trains_and_restores_layout():
    """`train.precision = "bf16"` (CUDA's recipe, and the CPU's where it computes bf16) run on this CPU: finite
    losses, weights move, and differ from fp32 training's (the setting takes effect); NCHW afterwards."""
    crops, labels = _data()
    mc = ModelConfig.for_name("finetrack", **TINY, k=2)
    states = {}
    for precision in ("bf16", "fp32"):
        torch.manual_seed(1)
        model = mc.build(6)
        steps: list[dict[str, float]] = []
        cfg = TrainConfig(epochs=1, p=3, k=2, precision=precision)
        history = train(model, crops, labels, cfg, 1, PKSampler(labels, 3, 2, seed=1, batches_per_epoch=2),
                        mc.make_loss(cfg), on_step=lambda it, total, losses: steps.append(losses))
        assert len(steps) == 2 and all(isinstance(v, float) for v in steps[0].values())
        assert np.isfinite(history[0]["loss"])
        conv = model.backbone.stem[0].weight
        assert conv.is_contiguous() and not model.training
        states[precision] = model.state_dict()
    assert not torch.equal(states["bf16"]["backbone.stem.0.weight"], states["fp32"]["backbone.stem.0.weight"])


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_device_computes_it(native, monkeypatch):
    """auto: bf16 on CUDA always, on the CPU only with bf16 arithmetic (emulated bf16 is slower than fp32);
    an explicit setting is taken as given, and anything else is refused."""
    import trackers.reid.train as train_module

    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: native)
    assert training_precision("auto", "cpu") == ("bf16" if native else "fp32")
    assert training_precision("auto", "cuda") == "bf16"
    assert training_precision("fp32", "cuda") == "fp32" and training_precision("bf16", "cpu") == "bf16"
    with pytest.raises(ValueError, match="precision"):
        training_precision("fp16", "cpu")


def test_same_size_merge_skips_the_resize_exactly():
    torch.manual_seed(0)
    merge = FlowAlignedMerge(8, align=True)
    torch.nn.init.normal_(merge.flow.weight, std=0.1)
    coarse = torch.randn(2, 8, 6, 4, requires_grad=True)
    fine = torch.randn(2, 8, 6, 4)
    out = merge(coarse, fine)
    resized = F.interpolate(coarse, size=(6, 4), mode="bilinear", align_corners=False)
    assert torch.equal(resized, coarse)  # the resize skipped was the identity
    from trackers.reid.finetrack_model import flow_conv, warp_by_flow

    flow = flow_conv(torch.cat([resized, fine], dim=1), merge.flow)

    ref = warp_by_flow(resized, flow) + fine
    assert torch.equal(out, ref)
    assert merge(torch.randn(2, 8, 3, 2), fine).shape == fine.shape  # a real upsample still happens


@pytest.mark.parametrize("soft", [False, True])
def test_sync_free_triplet_mean_matches_the_cpu_path(soft):
    from trackers.reid.losses import masked_triplet_mean

    torch.manual_seed(0)
    feats = torch.randn(10, 5)
    for labels in (torch.tensor([0, 0, 1, 1, 2, 3, 4, 4, 5, 6]), torch.zeros(10, dtype=torch.long),
                   torch.arange(10)):
        ref = batch_hard_triplet_loss(feats, labels, 0.3, soft)
        dist = torch.cdist(feats, feats)
        same = labels[:, None] == labels[None, :]
        pos = same & ~torch.eye(10, dtype=torch.bool)
        valid = pos.any(1) & (~same).any(1)
        d_ap = dist.masked_fill(~pos, float("-inf")).amax(1)
        d_an = dist.masked_fill(same, float("inf")).amin(1)
        ours = masked_triplet_mean(d_ap, d_an, valid, 0.3, soft)
        assert torch.isfinite(ours)
        assert ours.item() == pytest.approx(ref.item(), abs=1e-4)


@pytest.mark.parametrize("native", [True, False])
def test_embedder_default_on_cpu_is_bf16_only_where_the_cpu_computes_it(native, monkeypatch):
    import trackers.reid.train as train_module

    monkeypatch.setattr(train_module, "cpu_computes_bf16", lambda: native)
    model = ModelConfig(name="global", **TINY).build(0)
    embedder = Embedder(model, "abc", TINY["input_size"], "cpu")
    assert embedder.mixed_precision == native and embedder.precision == ("bf16" if native else "fp32")
    assert (embedder.key().get("precision") == "bf16") == native
    assert Embedder(model, "abc", TINY["input_size"], "cuda" if torch.cuda.is_available() else "meta").precision == (
        "bf16" if torch.cuda.is_available() else "fp32")


def test_embedder_fp32_on_cpu_is_exact_and_mixed_is_close():
    crops, _ = _data()
    torch.manual_seed(0)
    model = ModelConfig.for_name("finetrack", **TINY, k=2).build(0).eval()
    with torch.inference_mode():
        direct = model(normalise(crops)).numpy()
    exact = Embedder(model, "", TINY["input_size"], "cpu", 64, mixed_precision=False, fused=False).embed(crops)
    assert np.array_equal(exact, direct)
    fused = Embedder(model, "", TINY["input_size"], "cpu", 64, mixed_precision=False).embed(crops)  # BN folded, NHWC
    assert fused.dtype == np.float32 and np.abs(fused - direct).max() < 1e-5
    mixed = Embedder(model, "", TINY["input_size"], "cpu", 7, mixed_precision=True).embed(crops)
    assert mixed.dtype == np.float32 and mixed.shape == direct.shape
    assert (np.sum(mixed * direct, axis=1) > 0.99).all()  # bf16 embeddings point the same way


def test_parallel_frame_cropping_equals_the_serial_loop(tmp_path):
    from PIL import Image

    from bench.appearance.crops import crop_boxes, crop_frames, read_frame

    rng = np.random.default_rng(0)
    jobs = []
    for i in range(5):
        path = tmp_path / f"{i:06d}.png"
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(path)
        x1, y1 = rng.uniform(-10, 40, 3), rng.uniform(-10, 25, 3)
        jobs.append((path, np.column_stack([x1, y1, x1 + rng.uniform(2, 30, 3), y1 + rng.uniform(2, 30, 3)])))
    ours = crop_frames(jobs, (16, 8))
    assert len(ours) == 5
    for (path, boxes), got in zip(jobs, ours):
        assert torch.equal(got, crop_boxes(read_frame(path), boxes, (16, 8)))


def test_stem_max_pool_matches_nchw_values_ties_and_gradients():
    from trackers.reid.resnet import StemMaxPool

    torch.manual_seed(0)
    for x in (torch.relu(torch.randn(4, 8, 17, 10)).round(), torch.zeros(2, 8, 8, 6)):  # many ties
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        g = torch.randn_like(F.max_pool2d(x, 3, 2, 1))
        ref, ours = F.max_pool2d(a, 3, 2, 1), StemMaxPool(3, 2, 1)(b)
        ref.backward(g)
        ours.backward(g)
        assert ours.is_contiguous() and torch.equal(ours, ref) and torch.equal(b.grad, a.grad)


@pytest.mark.parametrize(("shape", "size"), [((3, 16, 8, 4), (16, 8)), ((2, 8, 7, 5), (13, 9)), ((2, 24, 16, 8), (32, 16))])
def test_channels_last_resize_is_bit_identical_to_nchw(shape, size):
    from trackers.reid.finetrack_model import resize_channels_last

    torch.manual_seed(0)
    x = torch.randn(*shape)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref = F.interpolate(a, size=size, mode="bilinear", align_corners=False)
    ours = resize_channels_last(b, size)
    g = torch.randn_like(ref)
    ref.backward(g)
    ours.backward(g)
    assert ours.is_contiguous() and torch.equal(ours, ref) and torch.equal(b.grad, a.grad)


def test_embedding_cache_key_separates_bf16_and_fused_from_fp32():
    model = ModelConfig(name="global", **TINY).build(0)
    fp32 = Embedder(model, "abc", TINY["input_size"], "cpu", mixed_precision=False, fused=False).key()
    assert fp32 == {"checkpoint": "abc", "input_size": list(TINY["input_size"])}
    fused = Embedder(model, "abc", TINY["input_size"], "cpu", mixed_precision=False).key()
    assert fused == {**fp32, "inference": inference_fingerprint()}  # an edit of the rewrite re-embeds
    assert Embedder(model, "abc", TINY["input_size"], "cpu", mixed_precision=True).key() not in (fp32, fused)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _cuda_train(seed: int = 1) -> tuple[list[dict[str, float]], dict[str, torch.Tensor], list[dict[str, float]]]:
    crops, labels = _data()
    mc = ModelConfig.for_name("finetrack", **TINY, k=2)
    torch.manual_seed(seed)
    model = mc.build(6)
    cfg = TrainConfig(epochs=2, p=3, k=2)
    steps: list[dict[str, float]] = []
    history = train(model, crops, labels, cfg, seed, PKSampler(labels, 3, 2, seed=seed, batches_per_epoch=2),
                    mc.make_loss(cfg), device="cuda", on_step=lambda it, total, losses: steps.append(losses))
    return history, {k: v.detach().cpu() for k, v in model.state_dict().items()}, steps


@cuda
def test_cuda_training_runs_mixed_and_reports_last_epoch_means():
    """On CUDA: bf16 autocast by default, finite losses, progress shows the previous epoch's means (no sync)."""
    history, state, steps = _cuda_train()
    assert len(history) == 2 and all(np.isfinite(h["loss"]) for h in history)
    assert all(np.isnan(v) for v in steps[0].values())  # epoch 1: nothing read back yet
    assert steps[-1] == history[0]  # epoch 2 shows epoch 1's means
    first = ModelConfig.for_name("finetrack", **TINY, k=2)
    torch.manual_seed(1)
    assert not torch.equal(state["backbone.stem.0.weight"], first.build(6).state_dict()["backbone.stem.0.weight"])


@cuda
def test_cuda_embedder_agrees_with_cpu_fp32():
    crops, _ = _data()
    torch.manual_seed(0)
    model = ModelConfig.for_name("finetrack", **TINY, k=2).build(0).eval()
    with torch.inference_mode():
        direct = model(normalise(crops)).numpy()
    on_gpu = Embedder(model, "", TINY["input_size"], "cuda", 7)  # bf16, fused, channels_last by default on CUDA
    assert on_gpu.key()["precision"] == "bf16"
    emb = on_gpu.embed(crops)
    assert emb.dtype == np.float32 and emb.shape == direct.shape
    assert (np.sum(emb * direct, axis=1) > 0.99).all()
    assert np.array_equal(emb, on_gpu.embed(crops))  # same input ⇒ same embeddings
