"""The engine on MySQL, as a user runs it: ``Sidequest("mysql://…")``."""

from __future__ import annotations

import mysql_jobs
import pytest
from sidequest import Sidequest
from sidequest.backend import JobState
from sidequest_mysql.backend import MySQLBackend

pytestmark = pytest.mark.mysql_server


async def test_jobs_run_retry_and_complete(database_url: str) -> None:
    async with Sidequest(database_url, poll_interval=0.05) as sq:
        await sq.start()
        echo = await sq.build(mysql_jobs.Echo).enqueue("héllo", n=1)
        flaky = await sq.build(mysql_jobs.FailsUntil).retry_delay(0).backoff("fixed").enqueue(2)
        done = await sq.jobs.wait(echo.id, timeout=20)
        assert (done.state, done.result) == (
            JobState.COMPLETED,
            {"args": ["héllo"], "kwargs": {"n": 1}, "attempt": 1},
        )
        retried = await sq.jobs.wait(flaky.id, timeout=20)
        assert (retried.state, retried.result, retried.attempt) == (JobState.COMPLETED, 2, 2)
        assert [e.message for e in retried.errors] == ["attempt 1 fails"]
        assert isinstance(sq.backend, MySQLBackend)
        await sq.stop()


async def test_configure_only_engine_enqueues(database_url: str) -> None:
    async with Sidequest(database_url) as sq:
        job = await sq.build(mysql_jobs.Echo).queue("later").enqueue()
        assert (await sq.jobs.get(job.id)).state == JobState.WAITING
        assert [q.name for q in await sq.queues.list()] == ["later"]
