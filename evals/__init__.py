"""Datasets, metrics, eval runner, reports and benchmarks."""
