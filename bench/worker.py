"""A worker process: ``python bench/worker.py LIB CONFIG_JSON``.

Imports the library, prints ``LOADED`` and waits for ``GO`` on stdin (so that the workers
of one run start together), then runs the library's worker until SIGTERM, with the jobs
writing to the ledger named in the config. Prints ``READY`` once the worker is started
(and, where the library says so, listening for notifications).

``BENCH_GC_THRESHOLD=N`` sets Python's young-generation collection threshold to N in every
library's worker process once it is loaded, and sidequest's workers are given
``gc_threshold=N`` instead of raising it to their own 5,000: to compare the libraries under
the same collector setting.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # import as the ``bench`` package (and never shadow stdlib ``profile``)

from bench import ledger  # noqa: E402
from bench.common import run_on_loop  # noqa: E402
from bench.libs import get_adapter  # noqa: E402


def ready() -> None:
    sys.stdout.write("READY\n")
    sys.stdout.flush()


def main() -> None:
    lib, config = sys.argv[1], json.loads(sys.argv[2])
    if config.get("ledger"):
        ledger.open_for_jobs(config["ledger"])
    adapter = get_adapter(lib)(config["settings"])
    concurrency = int(config["concurrency"])
    # Start together: the parent releases every worker of a run at once once all are loaded.
    sys.stdout.write("LOADED\n")
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "GO":
        return
    threshold = os.environ.get("BENCH_GC_THRESHOLD")
    if threshold:
        if not threshold.isdigit() or int(threshold) < 1:
            sys.exit(f"BENCH_GC_THRESHOLD must be a whole number ≥ 1, got {threshold!r}")
        gc.set_threshold(int(threshold), *gc.get_threshold()[1:])
    if adapter.sync_worker:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        adapter.run_worker_sync(concurrency, ready, stop)
        return

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await adapter.run_worker(concurrency, ready, stop)

    run_on_loop(run())


if __name__ == "__main__":
    main()
