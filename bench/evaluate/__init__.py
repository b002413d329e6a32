"""Scoring results against gt: TrackEval, the py-motmetrics cross-check, occlusion breakdowns."""
