"""Synthetic, rendered MOT dataset: articulated people with per-identity looks, occluders and a noisy detector.

The default benchmark suite is generated on the fly, because no real images are available. The generator is
built so that appearance and occlusion matter as in real pedestrian scenes: look-alike identities, crossings
behind static objects and at similar depths, and a detector whose misses and scores follow visibility.
"""

from bench.data.synth.generate import generate_synth, preview
from bench.data.synth.params import SynthParams

__all__ = ["SynthParams", "generate_synth", "preview"]
