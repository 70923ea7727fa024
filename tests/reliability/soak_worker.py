"""A worker process for the soak tests: ``python soak_worker.py CONFIG_JSON``.

CONFIG_JSON keys: ``url``, ``concurrency``, ``options`` (``Sidequest`` keyword arguments),
``skew`` (seconds added to this process's application clock: ``time.time`` and
``sidequest._durations.utcnow`` wherever it was imported) and ``schedules`` (a list of
``{"cron", "name", "catch_up"}`` running ``soak_jobs.Tick``). Logs go to stderr with the
real-time clock in front of each line; prints ``ready`` at start and its engine stats as
one JSON line on a clean exit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).parent))

import sidequest
from sidequest import Schedule, Sidequest
from soak_jobs import Tick, real_time


def skew_clocks(seconds: float) -> int:
    """Shift the application clock by ``seconds``; returns how many bindings were patched."""
    if not seconds:
        return 0
    real_time_time = time.time
    original: Callable[[], datetime] = sidequest._durations.utcnow

    def skewed_time() -> float:
        return real_time_time() + seconds

    def skewed_utcnow() -> datetime:
        return original() + timedelta(seconds=seconds)

    time.time = skewed_time
    patched = 1
    for name, module in list(sys.modules.items()):
        if name.startswith("sidequest") and getattr(module, "utcnow", None) is original:
            module.utcnow = skewed_utcnow  # type: ignore[attr-defined]
            patched += 1
    return patched


class RealClock(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.real = real_time()
        return True


async def main(config: dict[str, Any]) -> None:
    schedules = [
        Schedule(Tick, item["cron"], name=item["name"], catch_up=item.get("catch_up", "latest"))
        for item in config.get("schedules", ())
    ]
    sq = Sidequest(
        config["url"], max_concurrent_jobs=config["concurrency"], schedules=schedules, **config["options"]
    )
    print("ready", flush=True)
    await sq.run_until_stopped()
    print(json.dumps({"stats": attrs.asdict(sq.stats), "worker": sq.worker_id}), flush=True)


if __name__ == "__main__":
    settings: dict[str, Any] = json.loads(sys.argv[1])
    handler = logging.StreamHandler()
    handler.addFilter(RealClock())
    handler.setFormatter(logging.Formatter("%(real).3f %(process)d %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=settings.get("log_level", "INFO"), handlers=[handler])
    patched = skew_clocks(float(settings.get("skew", 0)))
    if patched:
        logging.getLogger("soak").warning(
            "application clock skewed by %+.0f s (%d bindings)", settings["skew"], patched
        )
    asyncio.run(main(settings))
