"""Re-ID models, losses, samplers and training. Importing the package registers every model's declaration
(`configs`, torch-free); the torch implementations load when a model is built."""

from trackers.reid import configs as _configs  # noqa: F401  (fills trackers.reid.registry.MODEL_REGISTRY)
