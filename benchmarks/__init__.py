"""Benchmarks of certgov at scale: run `python -m benchmarks` (see README.md)."""
