"""ResNet stage shapes/strides, GlobalReID train/eval contracts, the factory, and a tiny overfit check."""

from __future__ import annotations

import pytest
import torch

from trackers.reid.configs import ModelConfig
from trackers.reid.losses import ReIDLoss
from trackers.reid.models import GlobalReID
from trackers.reid.registry import MODEL_REGISTRY, build_model, register_model
from trackers.reid.resnet import ResNet, scaled_width

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("layout", "width", "expected_channels"),
    [
        ("resnet18", 0.25, [16, 32, 64, 128]),
        ("resnet18", 0.5, [32, 64, 128, 256]),
        ("resnet50", 0.125, [32, 64, 128, 256]),  # bottleneck: 4 x (8, 16, 32, 64)
        ("resnet50", 0.25, [64, 128, 256, 512]),
    ],
)
@pytest.mark.parametrize("last_stride", [1, 2])
def test_resnet_stage_shapes_and_strides(
    layout: str, width: float, expected_channels: list[int], last_stride: int
) -> None:
    net = ResNet(layout, width=width, last_stride=last_stride).eval()
    assert net.stage_channels == expected_channels
    h, w = 64, 32
    x = torch.randn(2, 3, h, w)
    with torch.inference_mode():
        stages = net.forward_stages(x)
        c5 = net(x)
    expected_strides = [4, 8, 16, 16 * last_stride]
    assert net.stage_strides == expected_strides
    for feat, ch, stride in zip(stages, expected_channels, expected_strides):
        assert feat.shape == (2, ch, h // stride, w // stride)
    assert torch.equal(c5, stages[-1])


def test_width_rounding() -> None:
    assert scaled_width(64, 1.0) == 64
    assert scaled_width(64, 0.1) == 8  # 6.4 -> min 8
    assert scaled_width(64, 0.3) == 16  # 19.2 -> 16
    assert scaled_width(512, 0.3) == 152  # 153.6 -> 152
    assert scaled_width(512, 0.01) == 8


def test_resnet_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="layout"):
        ResNet("resnet7")
    with pytest.raises(ValueError, match="last_stride"):
        ResNet(last_stride=3)


def test_zero_init_residual_makes_blocks_identity_at_init() -> None:
    # With the last BN gamma at 0 each block is relu(shortcut(x)); for a block without projection that is x
    # itself (its input is already post-ReLU).
    net = ResNet("resnet18", width=0.125).eval()
    block = net.layer1[1]
    x = torch.relu(torch.randn(1, block.conv1.in_channels, 8, 4))
    with torch.inference_mode():
        assert torch.allclose(block(x), x)


def _tiny_model(num_classes: int = 5, **kw) -> GlobalReID:
    return GlobalReID(num_classes=num_classes, width=0.125, **kw)


def test_global_reid_train_mode_returns_features_and_logits() -> None:
    model = _tiny_model(num_classes=7).train()
    out = model(torch.randn(4, 3, 64, 32))
    assert set(out) == {"features", "logits"}
    assert out["logits"].shape == (4, 7)
    assert out["features"].shape == (4, model.embedding_dim)
    assert model.embedding_dim == model.backbone.out_channels == 64
    # The triplet feature is the pre-BN one: BN would centre each channel over the batch.
    assert not torch.allclose(out["features"].mean(0), torch.zeros(model.embedding_dim), atol=1e-3)


def test_global_reid_eval_mode_unit_norm_and_frozen_bn_stats() -> None:
    model = _tiny_model().train()
    model(torch.randn(4, 3, 64, 32))  # one training batch so running stats are not at their init values
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    with torch.inference_mode():
        emb = model(torch.randn(6, 3, 64, 32) * 3 + 1)
    assert emb.shape == (6, model.embedding_dim)
    assert torch.allclose(emb.norm(dim=1), torch.ones(6), atol=1e-5)
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(after[k], v), k


def test_eval_embedding_is_normalised_post_bn_feature() -> None:
    model = _tiny_model().eval()
    x = torch.randn(3, 3, 64, 32)
    with torch.inference_mode():
        pooled = model.backbone(x).mean(dim=(2, 3))
        bn = model.neck.bn(pooled)
        expected = bn / bn.norm(dim=1, keepdim=True)
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_bnneck_bias_frozen_and_classifier_bias_free() -> None:
    model = _tiny_model()
    assert not model.neck.bn.bias.requires_grad
    assert model.neck.classifier is not None and model.neck.classifier.bias is None


def test_embedding_dim_reduction_and_gem_pooling() -> None:
    model = _tiny_model(embedding_dim=32, pooling="gem").eval()
    assert model.embedding_dim == 32
    with torch.inference_mode():
        assert model(torch.randn(2, 3, 64, 32)).shape == (2, 32)


def test_inference_only_model_cannot_train() -> None:
    model = build_model("global", num_classes=0, width=0.125)
    assert model.eval()(torch.randn(2, 3, 64, 32)).shape == (2, 64)
    with pytest.raises(RuntimeError, match="num_classes=0"):
        model.train()(torch.randn(2, 3, 64, 32))


def test_factory_config_round_trip_and_registry() -> None:
    cfg = ModelConfig(width=0.125, embedding_dim=48)
    d = cfg.to_dict()
    assert d["name"] == "global" and d["input_size"] == [128, 64] and d["embedding_dim"] == 48
    assert ModelConfig.from_dict(d) == cfg
    model = cfg.build(num_classes=3)
    assert isinstance(model, GlobalReID)
    assert model.embedding_dim == 48 and model.num_classes == 3 and model.input_size == (128, 64)
    with pytest.raises(ValueError, match="unknown Re-ID model"):
        build_model("nope", 3)

    dummy = register_model("_test_dummy", builder=f"{__name__}:dummy_builder")(ModelConfig)
    try:
        assert build_model("_test_dummy", 4).out_features == 4
        with pytest.raises(ValueError, match="already registered"):
            register_model("_test_dummy", builder=f"{__name__}:dummy_builder")(dummy)
    finally:
        MODEL_REGISTRY.pop("_test_dummy")


def dummy_builder(num_classes: int, **kw) -> torch.nn.Module:
    """The builder `test_factory_config_round_trip_and_registry` registers by name."""
    return torch.nn.Linear(2, num_classes)


def test_tiny_overfit_reduces_loss() -> None:
    torch.manual_seed(0)
    model = _tiny_model(num_classes=2)
    model.train()
    x = torch.randn(8, 3, 32, 16)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    crit = ReIDLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        out = crit(model(x), y)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.6 * losses[0], losses
