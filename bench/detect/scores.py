"""Detection scores on another scale than 0-1: said once by the user (`detections.score_scale`), never guessed."""

from __future__ import annotations

import numpy as np


def rescaled(dets: np.ndarray, score_scale: float) -> np.ndarray:
    """Scores divided by `detections.score_scale` (the full-scale value of the file's scores; 1 = as they are)."""
    if score_scale != 1.0 and len(dets):
        dets = dets.copy()
        dets[:, 5] /= score_scale
    return dets


def off_scale_warning(found: dict[str, tuple[float, float]], score_scale: float) -> str | None:
    """One line for det files whose scores (after `score_scale`) exceed 1: {file: (lowest, highest)}.

    Not rescaled automatically: a file's largest score does not say its scale (MOT15's ACF scores are unbounded,
    others are 0-100 or logits), and a cited number must come from a stated setting, not from a guess that changes
    with the file's extremes. The user says the scale once (`detections.score_scale`), and it is in the config."""
    if not found:
        return None
    worst = max(found, key=lambda f: found[f][1])
    lo, hi = min(v[0] for v in found.values()), found[worst][1]
    raw_hi = hi * score_scale
    guess = "0-100" if raw_hi <= 100 else "unbounded"
    files = f"{worst}" if len(found) == 1 else f"{len(found)} det files (highest in {worst})"
    scaled = "" if score_scale == 1.0 else f" after dividing by detections.score_scale={score_scale:g}"
    return (f"warning: detection scores {lo:g} to {hi:g}{scaled} in {files}: a {guess} scale, not 0-1, so score "
            f"thresholds (e.g. track_thresh) mean something else on them — set detections.score_scale to the scale's "
            f"full value to divide them by it (e.g. --set detections.score_scale={100 if raw_hi <= 100 else raw_hi:g}); "
            f"bench does not rescale on its own")
