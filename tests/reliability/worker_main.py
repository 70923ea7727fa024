"""A worker process for the fault tests: ``python worker_main.py URL CONCURRENCY [options as JSON]``.

Prints its engine stats as one JSON line on a clean exit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).parent))

from sidequest import Sidequest


async def main() -> None:
    url, concurrency = sys.argv[1], int(sys.argv[2])
    options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    sq = Sidequest(url, max_concurrent_jobs=concurrency, **options)
    print("ready", flush=True)
    await sq.run_until_stopped()
    print(json.dumps({"stats": attrs.asdict(sq.stats), "worker": sq.worker_id}), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(process)d %(levelname)s %(message)s")
    asyncio.run(main())
