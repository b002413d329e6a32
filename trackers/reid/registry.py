"""The Re-ID model registry: name → config class, builder, loss and training defaults (as timm's `_registry.py`).

A leaf: it imports no model and no torch. Builders and losses are "module:attribute" names (`trackers.lazy_ref`),
imported when a model is built, so bench's config can list the models and check their keys without torch. The
declarations in `trackers.reid.configs` register themselves with `@register_model(...)`, and the package
(`trackers/reid/__init__.py`) imports them, so the registry is full whenever anything in `trackers.reid` is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trackers.lazy_ref import load_ref

GLOBAL_LOSS = "trackers.reid.models:global_loss"


@dataclass(frozen=True)
class ModelEntry:
    """`builder(num_classes=..., **config.model_kwargs())` builds the model; `loss(model_config, train_config)` its
    training loss; `train` holds the `TrainConfig` values this model trains with by default (others: TrainConfig's
    own defaults)."""

    name: str
    config: type
    builder: str
    loss: str = GLOBAL_LOSS
    train: dict[str, Any] = field(default_factory=dict)

    def build(self, num_classes: int, **kwargs: Any) -> Any:
        return load_ref(self.builder)(num_classes=num_classes, **kwargs)

    def make_loss(self, model_config: Any, train_config: Any) -> Any:
        return load_ref(self.loss)(model_config, train_config)


MODEL_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    name: str, *, builder: str, loss: str = GLOBAL_LOSS, train: Mapping[str, Any] | None = None
) -> Callable[[type], type]:
    """Class decorator for a model's config dataclass: registers model `name` with that config class, its builder
    and loss ("module:attribute") and its training defaults (`TrainConfig` field → value)."""

    def deco(config: type) -> type:
        if name in MODEL_REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        MODEL_REGISTRY[name] = ModelEntry(name, config, builder, loss, dict(train or {}))
        return config

    return deco


def model_entry(name: str) -> ModelEntry:
    """The registered model `name` (ValueError naming the registered ones otherwise)."""
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown Re-ID model {name!r}; registered: {', '.join(sorted(MODEL_REGISTRY))}")
    return MODEL_REGISTRY[name]


def build_model(name: str, num_classes: int, **kwargs: Any) -> Any:
    """Build a registered Re-ID model; `num_classes=0` builds an inference-only model (no classifier)."""
    return model_entry(name).build(num_classes, **kwargs)
