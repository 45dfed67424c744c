"""Reproducible benchmarks of paved: generation, time to green."""
