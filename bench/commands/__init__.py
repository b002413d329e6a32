"""The commands over the stages: run, ablate, compare, tune."""
