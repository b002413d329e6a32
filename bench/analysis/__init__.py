"""Statistics over scored results: paired verdicts, calibration by simulation."""
