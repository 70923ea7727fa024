"""Focused tests of the SQLite backend: URLs, pragmas, migrations, claims, fencing, uniqueness."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sidequest import ConfigurationError, DuplicateJobError, QueueNotFoundError
from sidequest.backend import (
    WORKER_LOST,
    Backend,
    ErrorRecord,
    JobFilter,
    JobState,
    NewJob,
    QueueRecord,
    QueueState,
    ScheduleRecord,
    ScheduleState,
    Transition,
    create_backend,
)
from sidequest_sqlite import SQLiteBackend
from sidequest_sqlite._writelock import WriteLock

WAITING = frozenset({JobState.WAITING})
CLAIMED = frozenset({JobState.CLAIMED})
RUNNING = frozenset({JobState.RUNNING})


def new(queue: str = "default", **fields: object) -> NewJob:
    return NewJob(queue=queue, script="tests.jobs", job_class=str(fields.pop("job_class", "Job")), **fields)  # type: ignore[arg-type]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.sqlite3"


@pytest.fixture
async def backend(db_path: Path) -> AsyncIterator[SQLiteBackend]:
    backend = SQLiteBackend(f"sqlite:///{db_path}")
    await backend.migrate()
    try:
        yield backend
    finally:
        await backend.close()


async def start(backend: SQLiteBackend, queue: str = "default", lease: float = 30) -> list:  # type: ignore[type-arg]
    """Claim everything ready in ``queue`` and move it to running."""
    started = []
    for job in await backend.claim(queue, 100, "worker-1", lease):
        change = Transition(
            from_states=CLAIMED,
            to_state=JobState.RUNNING,
            lease_token=job.lease_token,
            attempt_delta=1,
            stamp="attempted_at",
        )
        started.append(await backend.transition(job.id, change))
    return started


def complete(token: str | None, result: object = None) -> Transition:
    return Transition(
        from_states=RUNNING,
        to_state=JobState.COMPLETED,
        lease_token=token,
        stamp="completed_at",
        set_result=True,
        result=result,
        clear_lease=True,
    )


# URLs and options --------------------------------------------------------------------------------
async def test_relative_url_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    backend = SQLiteBackend("sqlite:///relative.db")
    monkeypatch.chdir("/")
    await backend.migrate()
    await backend.close()
    assert (tmp_path / "relative.db").exists()
    assert backend.url == "sqlite:///relative.db"


async def test_registered_for_the_sqlite_scheme(db_path: Path) -> None:
    backend = create_backend(f"sqlite:///{db_path}")
    assert isinstance(backend, SQLiteBackend)
    assert isinstance(backend, Backend)  # every method of the protocol is there
    assert backend.notifies is True
    assert backend.url == f"sqlite:///{db_path}"
    await backend.close()


async def test_memory_database_is_shared_within_one_instance_only() -> None:
    first, second = SQLiteBackend("sqlite://:memory:"), SQLiteBackend("sqlite:///:memory:")
    await first.migrate()
    await second.migrate()
    stored = await first.enqueue([new()])
    assert (await first.get_job(stored[0].id)) == stored[0]
    assert await first.claim("default", 1, "w", 30)
    assert (await second.count_jobs()).total == 0
    await first.close()
    await second.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite://host/jobs.db",
        "sqlite:///jobs.db?mode=ro",
        "sqlite:jobs.db",
        "postgresql://localhost/db",
        "sqlite:///dir/",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="SQLite|sqlite"):
        SQLiteBackend(url)


def test_bad_options_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown SQLite backend option"):
        SQLiteBackend("sqlite://:memory:", busy=3)
    with pytest.raises(ConfigurationError, match="at least 5 seconds"):
        SQLiteBackend("sqlite://:memory:", busy_timeout=1)
    with pytest.raises(ConfigurationError, match="readers"):
        SQLiteBackend("sqlite://:memory:", readers=0)


async def test_unopenable_file_is_a_configuration_error(tmp_path: Path) -> None:
    backend = SQLiteBackend(f"sqlite:///{tmp_path / 'missing-dir' / 'jobs.db'}")
    with pytest.raises(ConfigurationError, match="cannot open SQLite database"):
        await backend.migrate()
    await backend.close()


async def test_joining_an_application_transaction_is_refused(backend: SQLiteBackend) -> None:
    with pytest.raises(ConfigurationError, match="connection="):
        await backend.enqueue([new()], connection=object())


async def test_closed_backend_refuses_work(db_path: Path) -> None:
    backend = SQLiteBackend(f"sqlite:///{db_path}")
    await backend.migrate()
    await backend.close()
    with pytest.raises(Exception, match="closed"):
        await backend.get_job(1)


# pragmas and migrations --------------------------------------------------------------------------
async def test_every_connection_has_the_pragmas(backend: SQLiteBackend) -> None:
    settings = await backend.connection_settings()
    assert len(settings) == 3  # writer + 2 readers
    for values in settings:
        assert values["busy_timeout"] >= 5000
        assert values["journal_mode"] == "wal"
        assert values["synchronous"] == 1  # NORMAL
        assert values["foreign_keys"] == 1
    assert [v["query_only"] for v in settings] == [0, 1, 1]


def applied(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM sidequest_migrations ORDER BY 1")]


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def test_migrate_is_idempotent_and_rollback_undoes_the_latest(
    backend: SQLiteBackend, db_path: Path
) -> None:
    await backend.migrate()
    assert applied(db_path) == [1, 2, 3]
    await backend.rollback_migration()
    assert applied(db_path) == [1, 2]
    assert "sidequest_schedules" not in tables(db_path)
    await backend.rollback_migration()
    await backend.rollback_migration()
    assert applied(db_path) == []
    assert not {"sidequest_jobs", "sidequest_queues"} & tables(db_path)
    await backend.rollback_migration()  # nothing left: a no-op
    await backend.migrate()
    assert applied(db_path) == [1, 2, 3]
    assert (await backend.enqueue([new()]))[0].state == JobState.WAITING


MIGRATE_SCRIPT = """
import asyncio, sys
from sidequest_sqlite import SQLiteBackend

async def main():
    backend = SQLiteBackend(sys.argv[1])
    await backend.migrate()
    await backend.enqueue([])
    print(backend.busy_retries)
    await backend.close()

asyncio.run(main())
"""


@pytest.mark.slow
def test_concurrent_migrations_from_many_processes(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_SCRIPT, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(10)
    ]
    results = [proc.communicate(timeout=60) for proc in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()
    assert applied(db_path) == [1, 2, 3]


# enqueue and claim ---------------------------------------------------------------------------------
async def test_enqueue_round_trips_every_field(backend: SQLiteBackend) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    [job] = await backend.enqueue(
        [
            new(
                "emails",
                job_class="Send",
                args=(1, "é", [1.5, None], {"k": True}),
                kwargs={"to": "a@b.c", "n": 2**62},
                constructor_args=("x",),
                max_attempts=3,
                available_at=when,
                timeout=0.25,
                unique_digest="abc",
                uniqueness_config={"type": "alive-job", "with_args": True},
                retry_delay=1.5,
                backoff_strategy="fixed",
            )
        ]
    )
    assert job == await backend.get_job(job.id)
    assert job.args == (1, "é", [1.5, None], {"k": True})
    assert job.kwargs == {"to": "a@b.c", "n": 2**62}
    assert job.constructor_args == ("x",)
    assert job.available_at == when.replace(microsecond=678_000)
    assert job.available_at.tzinfo is UTC and job.inserted_at.tzinfo is UTC
    assert (job.timeout, job.retry_delay, job.backoff_strategy) == (0.25, 1.5, "fixed")
    assert job.uniqueness_config == {"type": "alive-job", "with_args": True}
    assert (job.state, job.attempt, job.errors, job.result) == (JobState.WAITING, 0, (), None)


async def test_available_in_is_relative_to_the_database_clock(backend: SQLiteBackend) -> None:
    [job] = await backend.enqueue([new(available_in=2.5)])
    assert job.available_at - job.inserted_at == timedelta(seconds=2.5)
    assert not await backend.claim("default", 10, "w", 30)


async def test_claim_oldest_available_first_with_fresh_leases(backend: SQLiteBackend) -> None:
    now = await backend.now()
    later, earlier, ready = await backend.enqueue(
        [
            new(available_at=now - timedelta(seconds=1)),
            new(available_at=now - timedelta(seconds=2)),
            new(),
        ]
    )
    await backend.enqueue([new(available_at=now + timedelta(hours=1)), new("other")])
    assert await backend.claim("default", 0, "w", 30) == []
    claimed = await backend.claim("default", 2, "w", 12.5)
    assert [j.id for j in claimed] == [earlier.id, later.id]
    for job in claimed:
        assert job.state == JobState.CLAIMED and job.claimed_by == "w"
        assert job.lease_expires_at is not None and job.claimed_at is not None
        assert job.lease_expires_at - job.claimed_at == timedelta(seconds=12.5)
        assert job.lease_token and len(job.lease_token) == 32
    assert claimed[0].lease_token != claimed[1].lease_token
    assert [j.id for j in await backend.claim("default", 10, "w", 30)] == [ready.id]


async def test_racing_claimers_never_share_a_job(db_path: Path, backend: SQLiteBackend) -> None:
    await backend.enqueue([new() for _ in range(300)])
    others = [SQLiteBackend(f"sqlite:///{db_path}") for _ in range(4)]
    try:
        batches = await asyncio.gather(
            *(b.claim("default", 7, f"w{i}", 30) for i, b in enumerate(others * 15))
        )
    finally:
        for other in others:
            await other.close()
    ids = [job.id for batch in batches for job in batch]
    assert len(ids) == len(set(ids)) == 300


# transitions -----------------------------------------------------------------------------------------
async def test_transitions_are_fenced_by_state_and_lease(backend: SQLiteBackend) -> None:
    await backend.enqueue([new()])
    [job] = await start(backend)
    assert job.state == JobState.RUNNING and job.attempt == 1 and job.attempted_at is not None
    assert await backend.transition(job.id, complete("not-the-token")) is None
    assert await backend.transition(job.id, complete(job.lease_token, {"ok": [1, 2.5]})) is not None
    done = await backend.get_job(job.id)
    assert done is not None
    assert (done.state, done.result, done.lease_token, done.lease_expires_at) == (
        JobState.COMPLETED,
        {"ok": [1, 2.5]},
        None,
        None,
    )
    assert await backend.transition(job.id, complete(job.lease_token)) is None
    assert await backend.transition(10_000, complete(None)) is None


async def test_errors_are_appended_and_rerun_clears_the_outcome(backend: SQLiteBackend) -> None:
    await backend.enqueue([new(max_attempts=1)])
    [job] = await start(backend)
    at = datetime(2030, 5, 6, 7, 8, 9, 123_000, tzinfo=UTC)
    error = ErrorRecord(type="ValueError", message="bad ☃", traceback="tb", attempt=1, worker="w", at=at)
    failed = await backend.transition(
        job.id,
        Transition(
            from_states=RUNNING,
            to_state=JobState.FAILED,
            lease_token=job.lease_token,
            stamp="failed_at",
            error=error,
            clear_lease=True,
        ),
    )
    assert failed is not None and failed.errors == (error,) and failed.failed_at is not None
    rerun = await backend.transition(
        job.id,
        Transition(
            from_states=frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELED}),
            to_state=JobState.WAITING,
            available_in=0.0,
            rerun=True,
        ),
    )
    assert rerun is not None
    assert (rerun.state, rerun.failed_at, rerun.max_attempts, rerun.errors) == (
        JobState.WAITING,
        None,
        2,
        (error,),
    )


async def test_snooze_keeps_attempts_non_negative(backend: SQLiteBackend) -> None:
    [waiting] = await backend.enqueue([new()])
    snoozed = await backend.transition(
        waiting.id,
        Transition(from_states=WAITING, to_state=JobState.WAITING, attempt_delta=-1, available_in=60),
    )
    assert snoozed is not None and snoozed.attempt == 0
    assert snoozed.available_at >= waiting.available_at + timedelta(seconds=60)


# uniqueness --------------------------------------------------------------------------------------
async def test_duplicates_name_the_holder_and_store_nothing(backend: SQLiteBackend) -> None:
    [holder] = await backend.enqueue([new(unique_digest="d")])
    with pytest.raises(DuplicateJobError) as raised:
        await backend.enqueue([new(unique_digest="other"), new(job_class="Dup", unique_digest="d")])
    assert raised.value.existing_id == holder.id
    assert "Dup" in str(raised.value)
    with pytest.raises(DuplicateJobError) as raised:
        await backend.enqueue([new(unique_digest="x"), new(unique_digest="x")])
    assert raised.value.existing_id is None
    assert (await backend.count_jobs()).total == 1


async def test_skip_duplicates_returns_the_inserted_rows_in_order(backend: SQLiteBackend) -> None:
    await backend.enqueue([new(unique_digest="held")])
    jobs = [new(args=(i,), unique_digest=d) for i, d in enumerate(["a", "held", None, "a", "b", None])]
    stored = await backend.enqueue(jobs, skip_duplicates=True)
    assert [job.args for job in stored] == [(0,), (2,), (4,), (5,)]
    assert [job.id for job in stored] == sorted(job.id for job in stored)


async def test_large_batches_are_one_transaction(backend: SQLiteBackend) -> None:
    stored = await backend.enqueue([new(args=(i,)) for i in range(1000)])
    assert [job.args[0] for job in stored] == list(range(1000))
    with pytest.raises(DuplicateJobError):
        await backend.enqueue([new(unique_digest=f"u{i % 999}") for i in range(1000)])
    assert (await backend.count_jobs()).total == 1000


async def test_alive_digest_is_released_but_fixed_window_digest_is_kept(backend: SQLiteBackend) -> None:
    fixed = {"type": "fixed-window", "period": "hour", "with_args": False}
    await backend.enqueue([new(unique_digest="alive"), new(unique_digest="window", uniqueness_config=fixed)])
    for job in await start(backend):
        await backend.transition(job.id, complete(job.lease_token))
    assert len(await backend.enqueue([new(unique_digest="alive")])) == 1
    with pytest.raises(DuplicateJobError):
        await backend.enqueue([new(unique_digest="window", uniqueness_config=fixed)])


async def test_rerun_into_a_held_digest_is_a_duplicate(backend: SQLiteBackend) -> None:
    await backend.enqueue([new(unique_digest="d")])
    [job] = await start(backend)
    await backend.transition(job.id, complete(job.lease_token))
    [holder] = await backend.enqueue([new(unique_digest="d")])
    rerun = Transition(
        from_states=frozenset({JobState.COMPLETED}), to_state=JobState.WAITING, available_in=0, rerun=True
    )
    with pytest.raises(DuplicateJobError) as raised:
        await backend.transition(job.id, rerun)
    assert raised.value.existing_id == holder.id
    assert (await backend.get_job(job.id)).state == JobState.COMPLETED  # type: ignore[union-attr]


# leases ------------------------------------------------------------------------------------------------
async def test_heartbeat_reports_and_extends_held_leases(backend: SQLiteBackend) -> None:
    await backend.enqueue([new(), new()])
    first, second = await start(backend, lease=1)
    leases = {first.id: first.lease_token, second.id: "stale-token", 999: "x"}
    assert await backend.heartbeat("worker-1", leases, None) == {first.id}
    assert await backend.heartbeat("worker-1", {}, 10) == set()
    assert await backend.heartbeat("worker-1", leases, 60) == {first.id}
    renewed = await backend.get_job(first.id)
    untouched = await backend.get_job(second.id)
    assert renewed is not None and untouched is not None
    assert renewed.lease_expires_at > untouched.lease_expires_at + timedelta(seconds=55)  # type: ignore[operator]


async def test_release_expired_follows_the_protocol(backend: SQLiteBackend) -> None:
    await backend.enqueue([new("claimed"), new("retry", max_attempts=2), new("fail", max_attempts=1)])
    [claimed] = await backend.claim("claimed", 1, "w", 0.001)
    [retry] = await start(backend, "retry", lease=0.001)
    [fail] = await start(backend, "fail", lease=0.001)
    await backend.enqueue([new("fresh")])
    await start(backend, "fresh", lease=60)
    await asyncio.sleep(0.02)
    released = {job.queue: job for job in await backend.release_expired()}
    assert set(released) == {"claimed", "retry", "fail"}
    assert released["claimed"].state == JobState.WAITING and released["claimed"].errors == ()
    assert released["claimed"].available_at == claimed.available_at
    assert released["retry"].state == JobState.WAITING and released["retry"].attempt == 1
    [lost] = released["retry"].errors
    assert (lost.type, lost.attempt, lost.worker) == (WORKER_LOST, 1, "worker-1")
    assert lost.at == released["retry"].available_at
    assert released["fail"].state == JobState.FAILED
    assert released["fail"].errors[-1].at == released["fail"].failed_at
    assert all(j.lease_token is None and j.lease_expires_at is None for j in released.values())
    assert retry.id == released["retry"].id and fail.id == released["fail"].id
    assert await backend.release_expired() == []


async def test_delete_finished_is_exact_to_the_millisecond(backend: SQLiteBackend) -> None:
    await backend.enqueue([new() for _ in range(3)])
    running = await start(backend)
    done = [await backend.transition(job.id, complete(job.lease_token)) for job in running[:2]]
    stamps = sorted(job.completed_at for job in done if job is not None and job.completed_at)
    assert await backend.delete_finished(stamps[0]) == 0  # strictly older only
    assert await backend.delete_finished(stamps[0] + timedelta(microseconds=1)) >= 1
    assert await backend.delete_finished(stamps[-1] + timedelta(microseconds=1)) <= 1
    counts = await backend.count_jobs()
    assert (counts.completed, counts.running) == (0, 1)


# reads ------------------------------------------------------------------------------------------------
async def test_list_filters_patterns_search_and_pages(backend: SQLiteBackend) -> None:
    await backend.enqueue(
        [
            new("email-queue", job_class="SendEmail", args=("Ärger",)),
            new("report_queue", job_class="sendemail", kwargs={"to": "X@Y"}),
            new("reportXqueue", job_class="Data*Proc"),
        ]
    )
    ids = [j.id for j in await backend.list_jobs(JobFilter())]
    assert ids == sorted(ids, reverse=True)

    async def listed(**criteria: object) -> list[int]:
        return [j.id for j in await backend.list_jobs(JobFilter(**criteria))]  # type: ignore[arg-type]

    assert len(await listed(queues=("%queue",))) == 3
    assert len(await listed(queues=("report_queue",))) == 1  # "_" is literal
    assert len(await listed(queues=("report_%",))) == 1
    assert len(await listed(job_classes=("Send%",))) == 1  # case-sensitive like the memory backend
    assert len(await listed(job_classes=("Data*Proc",))) == 1
    assert len(await listed(job_classes=("Data*%",))) == 1
    assert len(await listed(job_classes=("D%", "sendemail"))) == 2
    assert len(await listed(search="ärger")) == 1
    assert len(await listed(search="x@y")) == 1
    assert len(await listed(search="%")) == 0
    assert len(await listed(args=("Ärger",))) == 1
    assert await listed(limit=1, before_id=ids[0]) == [ids[1]]
    assert await listed(offset=2) == [ids[2]]
    assert await listed(ids=(ids[1], 12345)) == [ids[1]]


async def test_time_filters_are_inclusive_at_millisecond_precision(backend: SQLiteBackend) -> None:
    [job] = await backend.enqueue([new()])
    at = job.inserted_at
    micro = timedelta(microseconds=1)

    async def count(since: datetime | None, until: datetime | None) -> int:
        found = await backend.list_jobs(JobFilter(time_field="inserted_at", since=since, until=until))
        return len(found)

    assert await count(at, at) == 1
    assert await count(at - micro, at + micro) == 1
    assert await count(at + micro, None) == 0
    assert await count(None, at - micro) == 0
    assert (await backend.count_jobs(at, at)).waiting == 1
    assert (await backend.count_jobs(at + micro, None)).total == 0


async def test_counts_by_queue_and_over_time(backend: SQLiteBackend) -> None:
    await backend.create_queue(QueueRecord(name="empty"))
    await backend.enqueue([new("a"), new("a"), new("b")])
    by_queue = await backend.count_jobs_by_queue()
    assert list(by_queue) == ["a", "b", "empty"]
    assert (by_queue["a"].waiting, by_queue["empty"].total) == (2, 0)
    buckets = await backend.count_jobs_over_time("5m")
    assert len(buckets) == 5
    assert [b.at for b in buckets] == sorted(b.at for b in buckets)
    assert buckets[-1].counts.waiting == 3
    assert sum(b.counts.total for b in buckets) == 3
    assert len(await backend.count_jobs_over_time("3d")) == 3
    with pytest.raises(ConfigurationError):
        await backend.count_jobs_over_time("12x")
    assert await backend.job_queue_names() == ["a", "b"]


# queues and schedules ---------------------------------------------------------------------------------
async def test_queues(backend: SQLiteBackend) -> None:
    await backend.create_queue(QueueRecord(name="low", priority=1, concurrency=3))
    with pytest.raises(ConfigurationError, match="already exists"):
        await backend.create_queue(QueueRecord(name="low"))
    with pytest.raises(ConfigurationError, match="Concurrency must be at least 1"):
        await backend.create_queue(QueueRecord(name="bad", concurrency=0))
    stored = await backend.ensure_queue(QueueRecord(name="low", priority=99))
    assert stored.priority == 1
    await backend.ensure_queue(QueueRecord(name="high", priority=10))
    assert [q.name for q in await backend.list_queues()] == ["high", "low"]
    assert [q.name for q in await backend.list_queues("name", descending=False)] == ["high", "low"]
    woken: list[int] = []
    backend.subscribe(lambda: woken.append(1))
    paused = await backend.update_queue("low", state=QueueState.PAUSED, concurrency=5)
    assert (paused.state, paused.concurrency, paused.priority) == (QueueState.PAUSED, 5, 1)
    await backend.update_queue("low", state=QueueState.ACTIVE)
    assert woken == [1]
    assert await backend.update_queue("low") == await backend.get_queue("low")
    with pytest.raises(QueueNotFoundError):
        await backend.update_queue("nope", priority=1)
    with pytest.raises(ConfigurationError):
        await backend.list_queues("name; DROP TABLE sidequest_jobs")


async def test_schedules_compare_and_set(backend: SQLiteBackend) -> None:
    fire = datetime(2030, 1, 1, tzinfo=UTC)
    schedule = ScheduleRecord(
        name="nightly", cron="0 3 * * *", script="m", job_class="C", args=(1,), next_fire_at=fire
    )
    assert await backend.save_schedule(schedule) == schedule
    assert await backend.list_schedules() == [schedule]
    nxt = fire + timedelta(days=1)
    assert await backend.advance_schedule(
        "nightly", expected_next_fire_at=fire, next_fire_at=nxt, last_fired_at=fire, last_job_id=7
    )
    assert not await backend.advance_schedule(
        "nightly", expected_next_fire_at=fire, next_fire_at=nxt, last_fired_at=None, last_job_id=None
    )
    stored = await backend.get_schedule("nightly")
    assert stored is not None and (stored.next_fire_at, stored.last_job_id) == (nxt, 7)
    paused = await backend.set_schedule_state("nightly", ScheduleState.PAUSED)
    assert paused is not None and paused.state == ScheduleState.PAUSED
    assert await backend.set_schedule_state("missing", ScheduleState.PAUSED) is None
    assert await backend.delete_schedule("nightly") and not await backend.delete_schedule("nightly")


async def test_truncate_empties_everything_but_keeps_ids_increasing(backend: SQLiteBackend) -> None:
    [first] = await backend.enqueue([new()])
    await backend.ensure_queue(QueueRecord(name="default"))
    await backend.truncate()
    assert (await backend.count_jobs()).total == 0 and await backend.list_queues() == []
    [second] = await backend.enqueue([new()])
    assert second.id > first.id


async def test_enqueue_wakes_subscribers_in_this_process(backend: SQLiteBackend) -> None:
    woken: list[str] = []
    backend.subscribe(lambda: woken.append("x"))
    await backend.enqueue([new()])
    await backend.enqueue([])
    assert woken == ["x"]


# busy handling -----------------------------------------------------------------------------------------
@pytest.mark.slow
async def test_locked_database_is_retried_not_raised(backend: SQLiteBackend, db_path: Path) -> None:
    """Another process holds the write lock longer than busy_timeout: the write waits and succeeds."""
    await backend.enqueue([new()])  # connections open
    locked = threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(5.8)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait()
    started = time.monotonic()
    stored = await backend.enqueue([new()])
    holder.join()
    assert stored and time.monotonic() - started >= 5
    assert backend.busy_retries >= 1


# the cross-process writer queue -------------------------------------------------------------------------
async def test_writer_queue_waits_for_another_holder_then_proceeds(db_path: Path) -> None:
    lock_file = f"{db_path}-sidequest.lock"
    other = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    fcntl.flock(other, fcntl.LOCK_EX)
    lock = WriteLock(lock_file, patience=5)
    waiting = asyncio.ensure_future(lock.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    fcntl.flock(other, fcntl.LOCK_UN)
    assert await asyncio.wait_for(waiting, 2) is True
    with pytest.raises(BlockingIOError):
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.release()

    fcntl.flock(other, fcntl.LOCK_EX)
    impatient = WriteLock(lock_file, patience=0.05)
    assert await impatient.acquire() is False  # gave up: SQLite's own locking decides
    fcntl.flock(other, fcntl.LOCK_UN)
    await asyncio.sleep(0.05)  # the abandoned waiter takes the lock and gives it straight back
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(other)
    lock.close()
    impatient.close()


async def test_writes_from_several_backends_on_one_file_interleave(db_path: Path) -> None:
    backends = [SQLiteBackend(f"sqlite:///{db_path}") for _ in range(3)]
    for backend in backends:
        await backend.migrate()
    await asyncio.gather(*(b.enqueue([new(args=(i,))]) for i in range(60) for b in backends))
    assert (await backends[0].count_jobs()).waiting == 180
    assert all(b.busy_retries == 0 for b in backends)
    for backend in backends:
        await backend.close()
