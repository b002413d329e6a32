"""Suites and their files: MOTChallenge readers/writers, suite layouts and splits, the synthetic generator."""
