"""Benchmarks of the notification path on the offline stand-in: `python -m bench` (see README.md)."""
