"""Benchmarks: speed and memory goals, measured; `make bench` runs them all."""
