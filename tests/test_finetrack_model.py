"""FineTrackReID: output contracts for every parts/fafpn switch, FAM reduces to bilinear FPN at zero flow, flow
gradients, factory wiring and a tiny overfit run."""

from __future__ import annotations

import pytest
import torch

from trackers.reid.configs import FineTrackModelConfig, ModelConfig
from trackers.reid.finetrack_model import (
    MPMG,
    FineTrackReID,
    FlowAlignedMerge,
    flow_conv,
    masked_average,
    resize_channels_last,
    stripe_masks,
    warp_by_flow,
)
from trackers.reid.finetrack_loss import FineTrackLoss
from trackers.reid.registry import MODEL_REGISTRY, build_model

torch.set_num_threads(1)

H, W = 64, 32
WIDTH = 0.125  # fpn_dim = scaled_width(256, 0.125) = 32
C = 5


def tiny(**kw: object) -> FineTrackReID:
    args: dict[str, object] = {"num_classes": C, "width": WIDTH, "input_size": (H, W), "k": 4}
    args.update(kw)
    return FineTrackReID(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("parts", ["mpmg", "stripes", "none"])
@pytest.mark.parametrize("fafpn", [True, False])
def test_train_and_eval_shapes(parts: str, fafpn: bool) -> None:
    torch.manual_seed(0)
    model = tiny(parts=parts, fafpn=fafpn).train()
    x = torch.randn(3, 3, H, W)
    out = model(x)
    d = model.feat_dim
    assert d == 32
    assert out["features"].shape == (3, d)
    assert out["logits"].shape == (3, C)
    if parts == "none":
        assert "part_features" not in out and "masks" not in out
        assert model.embedding_dim == d
    else:
        assert out["part_features"].shape == (3, 4, d)
        assert out["part_logits"].shape == (3, 4, C)
        assert out["masks"].shape == (3, 4, H // 4, W // 4)  # fused map at stride 4
        masks = out["masks"].detach()
        assert float(masks.min()) >= 0.0 and float(masks.max()) <= 1.0
        assert model.embedding_dim == 5 * d
    model.eval()
    with torch.no_grad():
        emb = model(x)
    assert emb.shape == (3, model.embedding_dim)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))


def test_eval_embedding_blocks_are_equal_weight() -> None:
    # Each of the K+1 normalised blocks contributes norm 1/sqrt(K+1) to the unit embedding.
    model = tiny(parts="mpmg").eval()
    with torch.no_grad():
        emb = model(torch.randn(2, 3, H, W))
    blocks = emb.view(2, 5, model.feat_dim)
    torch.testing.assert_close(blocks.norm(dim=2), torch.full((2, 5), 5 ** -0.5))


def test_out_stride_8_and_embedding_dim_reduction() -> None:
    model = tiny(out_stride=8, embedding_dim=24).train()
    out = model(torch.randn(2, 3, H, W))
    assert out["masks"].shape == (2, 4, H // 8, W // 8)
    assert out["part_features"].shape == (2, 4, 24)
    assert model.embedding_dim == 5 * 24


def test_stripe_masks_partition_rows() -> None:
    like = torch.zeros(1)
    masks = stripe_masks(3, 8, 4, like)
    assert masks.shape == (1, 3, 8, 4)
    torch.testing.assert_close(masks.sum(dim=1), torch.ones(1, 8, 4))  # each row in exactly one stripe
    assert masks[0, 0, :3].eq(1).all() and masks[0, 0, 3:].eq(0).all()  # bounds 0, 3, 5, 8
    assert masks[0, 1, 3:5].eq(1).all() and masks[0, 2, 5:].eq(1).all()


def test_masked_average_formula() -> None:
    fmap = torch.arange(8.0).view(1, 2, 2, 2)  # channel 0: [[0,1],[2,3]], channel 1: [[4,5],[6,7]]
    masks = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.5], [0.5, 0.0]]]])
    feats = masked_average(fmap, masks)
    torch.testing.assert_close(feats, torch.tensor([[[0.0, 4.0], [1.5, 5.5]]]), atol=1e-5, rtol=0)


def test_warp_zero_flow_is_identity_and_integer_flow_shifts() -> None:
    x = torch.randn(2, 3, 5, 6)
    flow = torch.zeros(2, 2, 5, 6)
    torch.testing.assert_close(warp_by_flow(x, flow), x, atol=1e-6, rtol=0)
    flow[:, 0] = 1.0  # sample one pixel to the right: out[..., j] = x[..., j+1] (border-clamped at the edge)
    shifted = warp_by_flow(x, flow)
    torch.testing.assert_close(shifted[..., :-1], x[..., 1:], atol=1e-5, rtol=0)
    torch.testing.assert_close(shifted[..., -1], x[..., -1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_zero_flow_fafpn_equals_bilinear_fpn(mode: str) -> None:
    torch.manual_seed(1)
    plain = tiny(fafpn=False)
    aligned = tiny(fafpn=True)
    missing, unexpected = aligned.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected
    assert missing and all(".flow." in name for name in missing)  # only the flow convs differ
    for merge in aligned.fpn.merges:
        assert merge.flow is not None and merge.flow.weight.abs().sum() == 0  # zero-initialised
    x = torch.randn(3, 3, H, W)
    for m in (plain, aligned):
        m.train(mode == "train")
    with torch.no_grad():
        a, b = plain(x), aligned(x)
    if mode == "train":
        for key in ("features", "part_features", "masks", "logits"):
            torch.testing.assert_close(b[key], a[key], atol=1e-5, rtol=1e-4)
    else:
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4)
    # And a non-zero flow really changes the output (the comparison above is not vacuous).
    with torch.no_grad():
        for merge in aligned.fpn.merges:
            merge.flow.bias.fill_(0.7)  # type: ignore[union-attr]
        moved = aligned(x)
    key_moved = moved["features"] if mode == "train" else moved
    key_plain = a["features"] if mode == "train" else a
    assert not torch.allclose(key_moved, key_plain, atol=1e-4)


def test_gradient_reaches_flow_conv() -> None:
    torch.manual_seed(2)
    model = tiny(fafpn=True).train()
    with torch.no_grad():
        for merge in model.fpn.merges:
            merge.flow.weight.normal_(std=0.01)  # type: ignore[union-attr]
    labels = torch.tensor([0, 0, 1, 1])
    losses = FineTrackLoss()(model(torch.randn(4, 3, H, W)), labels)
    losses["loss"].backward()
    for merge in model.fpn.merges:
        grad = merge.flow.weight.grad  # type: ignore[union-attr]
        assert grad is not None and float(grad.abs().sum()) > 0


def test_plain_fpn_has_no_flow_parameters() -> None:
    model = tiny(fafpn=False)
    assert not any(".flow." in name for name, _ in model.named_parameters())


def test_build_model_via_model_config() -> None:
    assert "finetrack" in MODEL_REGISTRY
    cfg = FineTrackModelConfig(width=WIDTH, input_size=(H, W), fafpn=False, parts="stripes", k=4)
    model = cfg.build(num_classes=7)
    assert isinstance(model, FineTrackReID)
    assert model.parts == "stripes" and model.num_parts == 4 and not model.fafpn
    assert model.num_classes == 7
    assert build_model("finetrack", 0, width=WIDTH).num_classes == 0
    # Round trip through the stored dict rebuilds the same architecture.
    again = ModelConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert again.build(num_classes=7).embedding_dim == model.embedding_dim == 5 * model.feat_dim
    # A checkpoint written before typed configs (switches in an `extra` dict) still rebuilds the same config.
    legacy = {k: v for k, v in cfg.to_dict().items() if k not in ("fafpn", "parts", "k", "fpn_dim", "out_stride",
                                                                   "pretrained")}
    legacy["extra"] = {"fafpn": False, "parts": "stripes", "k": 4}
    assert ModelConfig.from_dict(legacy) == cfg


def test_finetrack_defaults_live_in_its_config() -> None:
    cfg = FineTrackModelConfig()
    model = cfg.build(num_classes=3)
    assert (model.fafpn, model.parts, model.num_parts) == (cfg.fafpn, cfg.parts, cfg.k) == (True, "mpmg", 6)
    from bench.core.config import Config, apply_mapping
    from bench.core.errors import BenchError

    for key, value in (("parts", "mpgm"), ("k", 0), ("out_stride", 2), ("width", 0.0), ("layout", "resnet99")):
        with pytest.raises(BenchError, match=f"reid.finetrack.model.{key} = "):  # ranges are checked when config loads
            apply_mapping(Config(), {f"reid.finetrack.model.{key}": value}, "test")
    with pytest.raises(ValueError, match="takes a FineTrackModelConfig"):
        ModelConfig(name="finetrack")
    with pytest.raises(TypeError):
        ModelConfig.from_dict({"name": "global", "parts": "mpmg"})  # a FineTrack key on the global model


def test_inference_only_model_refuses_to_train() -> None:
    model = tiny(num_classes=0).train()
    with pytest.raises(RuntimeError, match="inference only"):
        model(torch.randn(2, 3, H, W))
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, H, W)).shape == (2, model.embedding_dim)


def test_rejects_bad_switches() -> None:
    with pytest.raises(ValueError, match="parts"):
        tiny(parts="grid")
    with pytest.raises(ValueError, match="out_stride"):
        tiny(out_stride=16)
    with pytest.raises(ValueError, match="k="):
        tiny(k=64)  # more parts than the 32 fused channels


def test_tiny_overfit_lowers_loss() -> None:
    torch.manual_seed(3)
    model = tiny(num_classes=3, k=3).train()
    x = torch.randn(12, 3, H, W)
    labels = torch.arange(3).repeat_interleave(4)
    loss_fn = FineTrackLoss()
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(15):
        losses = loss_fn(model(x), labels)
        optim.zero_grad()
        losses["loss"].backward()
        optim.step()
        history.append(float(losses["loss"].detach()))
    assert history[-1] < 0.6 * history[0], history


@pytest.mark.parametrize(("dim", "k"), [(64, 6), (16, 4), (10, 3), (8, 1)])
def test_mpmg_as_one_network_equals_its_k_heads(dim: int, k: int) -> None:
    """forward (block-diagonal convs, one BatchNorm) against per_head: values, gradients of the input and of every
    parameter, the running statistics after two training steps, and the eval-mode masks."""
    import copy

    torch.manual_seed(dim + k)
    ours = MPMG(dim, k).train()
    ref = copy.deepcopy(ours)
    for step in range(2):
        x = torch.randn(4, dim, 8, 6)
        x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        y1, y2 = ours(x1), ref.per_head(x2)
        assert y1.shape == (4, k, 8, 6)
        torch.testing.assert_close(y1, y2, rtol=0, atol=1e-6)
        g = torch.randn_like(y1)
        (y1 * g).sum().backward()
        (y2 * g).sum().backward()
        torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, msg=name)
    for (name, b), c in zip(ours.named_buffers(), ref.buffers()):
        torch.testing.assert_close(b, c, rtol=0, atol=1e-7, msg=name)
    assert int(ours.heads[0].body[1].num_batches_tracked) == 2
    ours.eval()
    ref.eval()
    with torch.no_grad():
        x = torch.randn(3, dim, 5, 4)
        torch.testing.assert_close(ours(x), ref.per_head(x), rtol=0, atol=1e-6)


def test_flow_conv_equals_the_3x3_conv_values_and_gradients() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(12, 2, kernel_size=3, padding=1)
    x = torch.randn(3, 12, 9, 5)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y1 = flow_conv(x1, conv)
    grads1 = torch.autograd.grad((y1 * torch.arange(y1.numel()).view_as(y1).sin()).sum(), [x1, conv.weight, conv.bias])
    y2 = conv(x2)
    grads2 = torch.autograd.grad((y2 * torch.arange(y2.numel()).view_as(y2).sin()).sum(), [x2, conv.weight, conv.bias])
    torch.testing.assert_close(y1, y2, rtol=0, atol=1e-5)
    for a, b in zip(grads1, grads2):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="3x3"):
        flow_conv(x, torch.nn.Conv2d(12, 2, kernel_size=1))


def test_bf16_merge_concatenates_in_bf16_with_the_fp32_concatenations_values_and_gradients() -> None:
    """Under bf16 autocast the flow conv reads bf16, so concatenating in bf16 gives it the same input: the merge
    equals its fp32-concatenation definition bit for bit, forward and backward."""
    torch.manual_seed(3)
    merge = FlowAlignedMerge(6, align=True)
    with torch.no_grad():
        merge.flow.weight.normal_(std=0.3)  # type: ignore[union-attr]  # a real warp, not the identity
    coarse = torch.randn(2, 6, 4, 3).contiguous(memory_format=torch.channels_last)
    # bf16, as a lateral conv+BN gives it under autocast
    fine = torch.randn(2, 6, 8, 6).contiguous(memory_format=torch.channels_last).to(torch.bfloat16)

    def merged(definition: bool) -> tuple[torch.Tensor, ...]:
        c, f = coarse.clone().requires_grad_(), fine.clone().requires_grad_()
        merge.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            if definition:
                up = resize_channels_last(c, f.shape[-2:])
                out = f + warp_by_flow(up, flow_conv(torch.cat([up, f.float()], dim=1), merge.flow))
            else:
                out = merge(c, f)
        out.backward(torch.arange(out.numel(), dtype=out.dtype).view_as(out).sin())
        return out.detach(), c.grad, f.grad, merge.flow.weight.grad.clone()  # type: ignore[union-attr]

    ours, reference = merged(False), merged(True)
    assert ours[0].dtype == reference[0].dtype
    for a, b in zip(ours, reference):
        assert torch.equal(a, b)
