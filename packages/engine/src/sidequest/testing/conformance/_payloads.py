"""Payloads and every job field round-trip exactly through every reader."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sidequest._transitions import complete
from sidequest.backend import Backend, JobFilter, JobRecord, JobState

from ._fixtures import QUEUE, WORKER, apply, enqueue_one, make_job, new_job, typed


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"level": level, "next": value}
    return value


PAYLOADS: dict[str, tuple[list[Any], dict[str, Any]]] = {
    "unicode": (
        ["héllo", "日本語", "emoji 🌍🚀", "straße", "zero\u200bwidth", "Ω≈ç√"],
        {"clé": "valeur", "κλειδί": ["α", "β"], "": "empty key"},
    ),
    "integers": ([0, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63)], {"big": 9007199254740993}),
    "floats": (
        [0.1, -2.5, 1.0, 1e-7, 1e16, 1.5e300, -3.25e-300, 123456789.123, 5e-324],
        {"pi": 3.141592653589793, "whole": 2.0},
    ),
    "types kept apart": ([True, False, 1, 0, 1.0, 0.0, "1", "true", None], {"flag": True, "one": 1}),
    "empty containers": ([[], {}, "", [[]], {"a": {}}], {"list": [], "dict": {}, "none": None}),
    "nested": ([_nested(60)], {"deep": _nested(40)}),
    "text that looks like syntax": (
        [
            'quote " backslash \\ slash /',
            "newline\n tab\t return\r",
            "percent % underscore _",
            "ends like an escape \\u0000",
            "\\u0000sqf:1.0",
            "1e+16",
            "null",
            1e16,
        ],
        {"sql": "'; DROP TABLE jobs; --", "json": '{"a": [1, 2]}'},
    ),
    "large": (["x" * 100_000, list(range(10_000))], {"blob": "é" * 10_000}),
}


class PayloadTests:
    """Arguments, results and every other field come back as they were stored."""

    @pytest.mark.parametrize("name", list(PAYLOADS))
    async def test_payload_round_trip(self, backend: Backend, name: str) -> None:
        args, kwargs = PAYLOADS[name]
        ctor = [kwargs, *args[:2]]
        stored = await enqueue_one(backend, args=tuple(args), kwargs=kwargs, constructor_args=tuple(ctor))
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, 60)
        (listed,) = await backend.list_jobs(JobFilter(ids=(stored.id,)))
        fetched = await backend.get_job(stored.id)
        assert fetched is not None
        for record in (stored, claimed, listed, fetched):
            assert typed(record.args) == typed(args)
            assert typed(dict(record.kwargs)) == typed(kwargs)
            assert typed(record.constructor_args) == typed(ctor)

    @pytest.mark.parametrize("name", list(PAYLOADS))
    async def test_result_round_trip(self, backend: Backend, name: str) -> None:
        args, kwargs = PAYLOADS[name]
        result = {"args": args, "kwargs": kwargs}
        running = await make_job(backend, JobState.RUNNING)
        done = await apply(backend, running.id, complete(running, result))
        fetched = await backend.get_job(running.id)
        assert fetched is not None
        assert typed(done.result) == typed(result)
        assert typed(fetched.result) == typed(result)

    async def test_every_field_round_trips(self, backend: Backend) -> None:
        available_at = await backend.now() + timedelta(seconds=12, milliseconds=345)
        config = {"type": "alive-job", "with_args": True, "extra": {"list": [1, 2.5, "x"], "none": None}}
        new = new_job(
            "round-trip",
            "pkg.module:RoundTrip",
            args=("a", 1),
            kwargs={"k": [1, {"z": None}]},
            constructor_args=({"ctor": "é"},),
            max_attempts=7,
            available_at=available_at,
            timeout=0.25,
            unique_digest="f" * 64,
            uniqueness_config=config,
            retry_delay=2.5,
            backoff_strategy="fixed",
        )
        (stored,) = await backend.enqueue([new])
        fetched = await backend.get_job(stored.id)
        assert fetched == stored
        for record in (stored, fetched):
            assert isinstance(record, JobRecord)
            assert (record.queue, record.job_class, record.script) == (new.queue, new.job_class, new.script)
            assert record.args == ("a", 1) and dict(record.kwargs) == {"k": [1, {"z": None}]}
            assert record.constructor_args == ({"ctor": "é"},)
            assert (record.max_attempts, record.available_at) == (7, available_at)
            assert (record.timeout, record.retry_delay, record.backoff_strategy) == (0.25, 2.5, "fixed")
            assert record.unique_digest == "f" * 64
            assert typed(dict(record.uniqueness_config or {})) == typed(config)

    @pytest.mark.parametrize("timeout", [0.5, 1.0, 10.25, 3600.0])
    async def test_timeout_is_kept_as_seconds(self, backend: Backend, timeout: float) -> None:
        job = await enqueue_one(backend, timeout=timeout, retry_delay=timeout)
        fetched = await backend.get_job(job.id)
        assert fetched is not None
        assert (job.timeout, fetched.timeout, fetched.retry_delay) == (timeout, timeout, timeout)
