"""Synthetic, rendered MOT dataset: articulated people with per-identity looks, occluders and a noisy detector.

The default benchmark suite is generated on the fly, because no real images are available. The generator is
built so that appearance and occlusion matter as in real pedestrian scenes: look-alike identities, crossings
behind static objects and at similar depths, and a detector whose misses and scores follow visibility.
`generate` renders it; `params` alone is what a config needs (no imaging libraries).
"""
