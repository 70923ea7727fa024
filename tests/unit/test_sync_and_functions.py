"""Enqueueing from synchronous code (threads, a WSGI app) and function jobs."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

import func_jobs
import httpx
import pytest
import sample_jobs as jobs
from sidequest import ConfigurationError, JobState, Sidequest
from sidequest.backend import MemoryBackend


async def test_function_jobs_follow_the_result_contract() -> None:
    sq = func_jobs.sq
    await sq.start()
    try:
        email = await func_jobs.send_email.enqueue("a@b.c")
        assert email.queue == "emails" and email.max_attempts == 3
        total = await func_jobs.add.enqueue(2, 3)
        refused = await func_jobs.refuses.enqueue()
        record = await sq.jobs.wait(email.id, timeout=5)
        assert record.result == {"sent": "a@b.c", "attempt": 2}
        assert record.errors[0].message == "first attempt throttled"
        assert (await sq.jobs.wait(total.id, timeout=5)).result == 5
        assert (await sq.jobs.wait(refused.id, timeout=5)).state == JobState.FAILED
        assert func_jobs.add.func(1, 1) == 2
    finally:
        await sq.close()


def test_function_job_options_are_checked() -> None:
    sq = Sidequest("memory://")
    with pytest.raises(ConfigurationError, match="unknown @job options"):
        sq.job(priority=3)(lambda: None)


def test_enqueue_sync_from_many_threads(tmp_path: Path) -> None:
    sq = Sidequest(f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    try:
        with ThreadPoolExecutor(8) as pool:
            records = list(pool.map(lambda i: sq.build(jobs.Echo).enqueue_sync(i), range(200)))
        assert len({r.id for r in records}) == 200
        assert sq.jobs.count_sync().waiting == 200
        listed = sq.jobs.list_sync(limit=5)
        assert len(listed) == 5
        assert sq.jobs.cancel_sync(records[0].id).state == JobState.CANCELED
        bulk = sq.build(jobs.Echo).enqueue_many_sync([(1,), (2,)])
        assert [r.args for r in bulk] == [(1,), (2,)]
    finally:
        sq.close_sync()


async def test_sync_api_refuses_inside_an_event_loop() -> None:
    sq = Sidequest(MemoryBackend())
    with pytest.raises(ConfigurationError, match="awaitable"):
        sq.build(jobs.Echo).enqueue_sync(1)
    sq.close_sync()


def test_wsgi_app_enqueues_and_a_worker_runs_the_jobs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wsgi.sqlite3'}"
    sq = Sidequest(url)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        name = environ.get("QUERY_STRING", "") or "anon"
        record = sq.build(jobs.Echo).enqueue_sync(name)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(record.id).encode()]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None: ...

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        ids = [int(httpx.get(f"http://127.0.0.1:{port}/?user{i}").text) for i in range(10)]
    finally:
        server.shutdown()
        sq.close_sync()

    async def drain() -> list[JobState]:
        worker = Sidequest(url, poll_interval=0.02)
        await worker.start()
        try:
            return [(await worker.jobs.wait(i, timeout=10)).state for i in ids]
        finally:
            await worker.close()

    assert asyncio.run(drain()) == [JobState.COMPLETED] * 10
