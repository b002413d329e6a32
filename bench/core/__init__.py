"""Shared infrastructure: typed config, errors, atomic files, caches, progress, devices, run folders, where work runs."""
