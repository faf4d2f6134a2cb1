"""Benchmarks against the real engine: `make bench` (python -m bench [name ...]).

Figures are recorded in docs/benchmarks.md; no test asserts a duration.
"""
