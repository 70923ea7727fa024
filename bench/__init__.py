"""Benchmark harness: sidequest side by side with peer libraries (not run by CI).

Run ``uv run --group bench python bench/run.py --help``.
"""
