"""fuse_for_inference: same embeddings as the eval-mode model up to rounding (with trained-looking BN statistics and a
non-zero flow), deterministic, the original model and its state_dict untouched, no BatchNorm2d left, train refused."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trackers.reid.finetrack_model import FlowAlignedMerge
from trackers.reid.inference import FusedFlowMerge, FusedInference, MergedPartMasks, fold_conv_bn, fuse_for_inference
from trackers.reid.configs import ModelConfig

torch.set_num_threads(1)

TINY = {"width": 0.125, "input_size": (64, 32)}
TOL = 1e-5  # measured: ~1e-7 on unit-norm embeddings


def trained_looking(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics/affines and flow weights: at init they are identities (zero gamma, zero flow), which
    would hide folding or warping mistakes."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.copy_(torch.rand(m.num_features, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=gen) * 0.4 - 0.2)
            if isinstance(m, nn.Conv2d) and m.out_channels == 2:  # FAFPN flow convs
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.05)
                m.bias.copy_(torch.randn(2, generator=gen))
    return model


CASES = [
    ("global", {}),
    ("global", {"layout": "resnet50", "embedding_dim": 24}),
    ("finetrack", {"k": 3}),
    ("finetrack", {"k": 5, "out_stride": 8, "embedding_dim": 20}),  # 20 channels: blocks of 4, hidden 8 (max(8, 4))
    ("finetrack", {"parts": "stripes", "k": 4}),
    ("finetrack", {"parts": "none", "fafpn": False, "pooling": "gem"}),
]


@pytest.mark.parametrize(("name", "extra"), CASES)
def test_fused_embeddings_match_the_eval_model(name: str, extra: dict[str, object]) -> None:
    torch.manual_seed(0)
    model = trained_looking(ModelConfig.for_name(name, **TINY, **extra).build(7)).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fused = fuse_for_inference(model)
    x = torch.randn(6, 3, *TINY["input_size"])
    with torch.inference_mode():
        ref, ours = model(x), fused(x)
        again = fused(x)
    assert ours.shape == ref.shape == (6, model.embedding_dim) and fused.embedding_dim == model.embedding_dim
    assert (ours - ref).abs().max().item() < TOL
    assert torch.equal(ours, again)  # deterministic
    # The trained model is untouched: same keys and values, still NCHW, still has its BatchNorms.
    assert model.state_dict().keys() == before.keys()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert all(not p.requires_grad for p in fused.parameters())


def test_fused_finetrack_replaces_heads_and_flow_merges() -> None:
    model = ModelConfig.for_name("finetrack", **TINY, k=3).build(0)
    fused = fuse_for_inference(model)
    kinds = {type(m) for m in fused.modules()}
    assert MergedPartMasks in kinds and FusedFlowMerge in kinds
    with pytest.raises(RuntimeError, match="cannot train"):
        fused.train()
    assert isinstance(fused.eval(), FusedInference)


def test_merged_part_masks_match_the_heads() -> None:
    torch.manual_seed(0)
    model = trained_looking(ModelConfig.for_name("finetrack", **TINY, k=3).build(0)).eval()
    fmap = torch.randn(2, model.feat_dim, 8, 4)
    with torch.no_grad():
        torch.testing.assert_close(MergedPartMasks(model.mpmg)(fmap), model.mpmg(fmap), rtol=0, atol=1e-6)


@pytest.mark.parametrize("coarse_size", [(4, 2), (8, 4)])  # upsampled, and C5 -> C4 at last_stride 1 (same size)
def test_fused_flow_merge_matches_the_merge(coarse_size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    merge = trained_looking(FlowAlignedMerge(6, align=True))
    coarse, fine = torch.randn(3, 6, *coarse_size), torch.randn(3, 6, 8, 4)
    with torch.no_grad():
        ref = merge(coarse, fine)
        nhwc = [t.contiguous(memory_format=torch.channels_last) for t in (coarse, fine)]
        ours = FusedFlowMerge(merge)(*nhwc)
        training = merge(*nhwc)  # as the model trains, in channels_last
    assert ours.is_contiguous(memory_format=torch.channels_last)
    # grid_sample returns NCHW: a merge that handed that on cost a layout round trip and slower convs after it
    assert training.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(training, ref, rtol=0, atol=0)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)


def test_fold_conv_bn_matches_conv_then_bn() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=True)
    bn = trained_looking(nn.Sequential(nn.BatchNorm2d(6)))[0].eval()
    x = torch.randn(2, 4, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(fold_conv_bn(conv, bn)(x), bn(conv(x)), rtol=0, atol=1e-5)


def test_unfoldable_batchnorm_is_an_error() -> None:
    model = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="cannot fold"):
        fuse_for_inference(model)
