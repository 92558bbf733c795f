"""Benchmark harness for syncer (issue 9): `python -m bench [--quick] [--json]`."""
