"""Typed Re-ID model configs (each model's keys checked when the config loads) and pretrained torchvision
backbones (key mapping, shape checks, the file's digest in the checkpoint key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.core.config import apply_mapping, load_config
from bench.core.errors import BenchError
from bench.appearance.checkpoints import checkpoint_path, load_pretrained, reid_key
from bench.data.suites import load_suite
from trackers.reid.configs import FineTrackModelConfig, ModelConfig
from trackers.reid.finetrack_model import FineTrackReID
from trackers.reid.models import GlobalReID
from trackers.reid.resnet import ResNet, load_torchvision_weights

KEYS = json.loads((Path(__file__).parent / "data" / "torchvision-resnet-keys.json").read_text())
TINY = ["synth.frames=30", "synth.num_train=1", "synth.num_val=1", "synth.people=8", "run.jobs=1"]


def torchvision_state(layout: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with exactly torchvision's key names and shapes for `layout`, random values."""
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.zeros(shape, dtype=torch.long) if k.endswith("num_batches_tracked")
            else torch.randn(shape, generator=gen) for k, shape in KEYS[layout].items()}


def test_finetrack_keys_are_typed_and_checked_when_the_config_loads(tmp_path: Path) -> None:
    cfg = load_config(None, ["reid.finetrack.model.parts=stripes", "reid.finetrack.model.k=4"])
    model = cfg.reid.finetrack.model
    assert isinstance(model, FineTrackModelConfig) and (model.parts, model.k, model.fafpn) == ("stripes", 4, True)
    assert type(cfg.reid.deepsort.model) is ModelConfig
    for override, named in [
        ("reid.finetrack.model.fafnp=false", "reid.finetrack.model.fafnp"),  # typo: unknown key
        ("reid.finetrack.model.parts=mpgm", "parts"),  # bad choice
        ("reid.finetrack.model.k=0", "k"),
        ("reid.finetrack.model.fafpn=1", "reid.finetrack.model.fafpn"),  # wrong type
        ("reid.finetrack.model.extra.k=2", "reid.finetrack.model.extra"),  # the old free-form dict is gone
        ("reid.deepsort.model.parts=mpmg", "reid.deepsort.model.parts"),  # a FineTrack key on the global model
        ("reid.deepsort.model.name=osnet", "reid.deepsort.model.name"),
        ("reid.deepsort.model.diversity=false", "reid.deepsort.model.diversity"),  # FineTrack's loss weight
        ("reid.finetrack.train.diversity=false", "reid.finetrack.train.diversity"),  # moved to the model's config
        ("reid.finetrack.model.diversity_weight=-1", "diversity_weight"),
    ]:
        with pytest.raises(BenchError, match=named.replace(".", r"\.")):
            load_config(None, [override])
    toml = tmp_path / "bench.toml"
    toml.write_text('[reid.finetrack.model]\nname = "finetrack"\nfafnp = false\n')
    with pytest.raises(BenchError, match=r"reid\.finetrack\.model\.fafnp"):
        load_config(toml)


def test_renaming_a_model_switches_its_config_class() -> None:
    cfg = load_config(None, ["reid.deepsort.model.width=0.5"])
    cfg = apply_mapping(cfg, {"reid.deepsort.model.name": "finetrack", "reid.deepsort.model.k": 3}, "test")
    model = cfg.reid.deepsort.model
    assert isinstance(model, FineTrackModelConfig) and model.width == 0.5 and model.k == 3  # shared fields kept
    assert isinstance(model.build(2), FineTrackReID)
    back = apply_mapping(cfg, {"reid.deepsort.model.name": "global"}, "test").reid.deepsort.model
    assert type(back) is ModelConfig and back.width == 0.5 and isinstance(back.build(2), GlobalReID)


@pytest.mark.parametrize("layout", ["resnet18", "resnet34", "resnet50"])
def test_torchvision_state_dict_loads_with_no_missing_backbone_tensor(layout: str) -> None:
    state = torchvision_state(layout)
    backbone = ResNet(layout, width=1.0)
    report = load_torchvision_weights(backbone, state)
    assert report.missing == [] and report.unused == []
    assert len(report.loaded) == len(backbone.state_dict()) == len([k for k in state if not k.startswith("fc.")])
    own = backbone.state_dict()
    assert torch.equal(own["stem.0.weight"], state["conv1.weight"])  # the one renamed part: conv1/bn1 → stem
    assert torch.equal(own["stem.1.running_var"], state["bn1.running_var"])
    assert torch.equal(own["layer4.0.downsample.0.weight"], state["layer4.0.downsample.0.weight"])


def test_pretrained_errors_and_partial_loads(tmp_path: Path) -> None:
    state = torchvision_state("resnet18")
    with pytest.raises(ValueError, match="shapes differ.*width 1.0"):
        load_torchvision_weights(ResNet("resnet18", width=0.25), state)  # slim model: every shape differs
    with pytest.raises(ValueError, match="no key matches"):
        load_torchvision_weights(ResNet("resnet18", width=1.0),
                                 {"fc.weight": state["fc.weight"], "x": state["fc.bias"]})
    partial = {k: v for k, v in state.items() if not k.startswith("layer4.")}
    report = load_torchvision_weights(ResNet("resnet18", width=1.0), partial)
    assert report.missing and all(k.startswith("layer4.") for k in report.missing)

    # Through bench: the file is read with weights_only and the heads stay new.
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    model = FineTrackModelConfig(width=1.0, input_size=(64, 32)).build(5)
    neck_before = model.global_neck.classifier.weight.clone()
    load_pretrained(model, path, "reid.finetrack.model.pretrained")
    assert torch.equal(model.backbone.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])
    assert torch.equal(model.global_neck.classifier.weight, neck_before)
    with pytest.raises(BenchError, match="shapes differ"):
        load_pretrained(FineTrackModelConfig().build(5), path, "reid.finetrack.model.pretrained")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(BenchError, match="garbage.pth"):
        load_pretrained(model, garbage, "reid.finetrack.model.pretrained")


def test_pretrained_file_content_is_in_the_checkpoint_key(tmp_path: Path) -> None:
    torch.save(torchvision_state("resnet18", seed=0), tmp_path / "a.pth")
    cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / 'cache'}'"])
    suite = load_suite("synth", cfg)
    plain = checkpoint_path(cfg, cfg.reid.deepsort, suite, 0)
    assert checkpoint_path(cfg, cfg.reid.deepsort, suite, 0) == plain  # deterministic
    with_weights = load_config(None, TINY + [f"paths.cache='{tmp_path / 'cache'}'", "reid.deepsort.model.width=1.0",
                                             f"reid.deepsort.model.pretrained='{tmp_path / 'a.pth'}'"])
    key_a = checkpoint_path(with_weights, with_weights.reid.deepsort, suite, 0)
    key_model = reid_key(with_weights, with_weights.reid.deepsort, suite, 0)["model"]
    assert key_model["pretrained"] != str(tmp_path / "a.pth")  # the content's digest, not the path
    torch.save(torchvision_state("resnet18", seed=1), tmp_path / "a.pth")  # same path, other weights
    assert checkpoint_path(with_weights, with_weights.reid.deepsort, suite, 0) != key_a
    missing = load_config(None, TINY + ["reid.deepsort.model.pretrained='nope.pth'"])
    with pytest.raises(BenchError, match="pretrained backbone weights not found"):
        checkpoint_path(missing, missing.reid.deepsort, suite, 0)


@pytest.mark.slow
def test_training_starts_from_the_pretrained_backbone(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from bench.appearance.checkpoints import train_checkpoint

    torch.set_num_threads(1)
    state = torchvision_state("resnet18")
    torch.save(state, tmp_path / "r18.pth")
    cfg = load_config(None, TINY + [
        f"paths.cache='{tmp_path / 'cache'}'", "reid.deepsort.model.width=1.0",
        "reid.deepsort.model.input_size=[32, 16]", "reid.deepsort.train.epochs=1", "reid.deepsort.train.p=4",
        "reid.deepsort.train.k=2", "reid.deepsort.train.frame_stride=3", "reid.deepsort.train.lr=0.0",
        f"reid.deepsort.model.pretrained='{tmp_path / 'r18.pth'}'"])
    out = train_checkpoint(cfg, "deepsort", load_suite("synth", cfg), 0, "cpu")
    assert "loaded 120/120 backbone tensors" in capsys.readouterr().err
    trained = torch.load(out.path, weights_only=True)["state_dict"]
    assert torch.equal(trained["backbone.layer2.0.conv1.weight"], state["layer2.0.conv1.weight"])  # lr 0: unchanged
