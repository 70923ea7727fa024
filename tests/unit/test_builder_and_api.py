"""Builder defaults and validation, class resolution, plugins and the public API surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sample_jobs as jobs
import sidequest
from sidequest import (
    BackendNotFoundError,
    ConfigurationError,
    Job,
    JobNotFoundError,
    JobState,
    QueueNotFoundError,
    Sidequest,
)
from sidequest._resolution import JobResolver
from sidequest._transitions import backoff_delay
from sidequest.backend import JobRecord, create_backend


async def test_builder_defaults() -> None:
    async with Sidequest("memory://") as sq:
        record = await sq.build(jobs.Echo).enqueue()
        assert record.queue == "default"
        assert record.max_attempts == 5
        assert record.retry_delay == 1.0
        assert record.backoff_strategy == "exponential"
        assert record.timeout is None
        assert record.uniqueness_config is None and record.unique_digest is None
        assert record.state == JobState.WAITING and record.attempt == 0
        assert record.available_at == record.inserted_at
        assert record.script == "sample_jobs" and record.job_class == "Echo"
        queue = await sq.queues.get("default")
        assert (queue.concurrency, queue.priority, queue.state) == (10, 0, "active")


async def test_builder_options_are_stored_and_builders_are_reusable() -> None:
    when = datetime(2100, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)
    async with Sidequest("memory://") as sq:
        base = sq.build(jobs.WithCtor).queue("emails").with_("Hi")
        configured = (
            base.timeout(timedelta(seconds=30))
            .max_attempts(3)
            .retry_delay(2)
            .backoff("fixed")
            .available_at(when)
        )
        record = await configured.enqueue("Ada")
        assert (record.queue, record.timeout, record.max_attempts) == ("emails", 30.0, 3)
        assert (record.retry_delay, record.backoff_strategy) == (2.0, "fixed")
        assert record.available_at == when and record.constructor_args == ("Hi",)
        plain = await base.enqueue("Bob")
        assert plain.max_attempts == 5 and plain.available_at != when
        delayed = await sq.build(jobs.Echo).delay(60).enqueue()
        assert timedelta(seconds=59) < delayed.available_at - delayed.inserted_at <= timedelta(seconds=60)


@pytest.mark.parametrize(
    "bad",
    [
        lambda b: b.queue(""),
        lambda b: b.timeout(0),
        lambda b: b.timeout(-1),
        lambda b: b.max_attempts(0),
        lambda b: b.max_attempts(True),
        lambda b: b.retry_delay(float("nan")),
        lambda b: b.backoff("linear"),
        lambda b: b.available_at(datetime(2030, 1, 1)),
        lambda b: b.delay("soon"),
    ],
)
async def test_builder_refuses_bad_options(bad: object) -> None:
    sq = Sidequest("memory://")
    with pytest.raises(ConfigurationError):
        bad(sq.build(jobs.Echo))  # type: ignore[operator]


def test_local_and_main_classes_are_refused_unless_registered() -> None:
    class Local(Job):
        async def run(self) -> None: ...

    with pytest.raises(ConfigurationError, match="inside a function"):
        Sidequest("memory://").build(Local)
    Main = type("Main", (Job,), {"__module__": "__main__"})
    with pytest.raises(ConfigurationError, match="__main__"):
        Sidequest("memory://").build(Main)
    assert Sidequest("memory://", jobs=[Local, Main]).build(Local) is not None
    with pytest.raises(ConfigurationError, match="not a Job"):
        Sidequest("memory://").build(int)  # type: ignore[type-var]


def test_resolution_errors_are_clear() -> None:
    resolver = JobResolver()
    assert resolver.resolve("sample_jobs", "Echo") is jobs.Echo
    with pytest.raises(LookupError, match="cannot import module 'no_such_module'"):
        resolver.resolve("no_such_module", "X")
    with pytest.raises(LookupError, match="has no job class 'Nope'"):
        resolver.resolve("sample_jobs", "Nope")
    with pytest.raises(LookupError, match="not a sidequest Job"):
        resolver.resolve("sample_jobs", "count")


async def test_unknown_class_fails_only_that_job() -> None:
    sq = Sidequest("memory://", poll_interval=0.02)
    await sq.start()
    from sidequest.backend import NewJob

    (ghost,) = await sq.enqueue_jobs([NewJob(queue="default", script="gone.module", job_class="Ghost")])
    fine = await sq.build(jobs.Echo).enqueue()
    record = await sq.jobs.wait(ghost.id, timeout=5)
    assert record.state == JobState.FAILED and record.attempt == 1
    assert record.errors[-1].type == "UnknownJobClass"
    assert (await sq.jobs.wait(fine.id, timeout=5)).state == JobState.COMPLETED
    await sq.close()


def test_backend_registry() -> None:
    assert "pip install sidequest-mysql" in str(BackendNotFoundError("mysql", ["memory"]))
    assert "pip install sidequest-postgres" in str(BackendNotFoundError("postgresql"))
    with pytest.raises(BackendNotFoundError, match="Installed schemes: .*memory"):
        create_backend("nosuch://x")
    with pytest.raises(ConfigurationError, match="no scheme"):
        create_backend("just-a-path.db")
    assert create_backend("memory://").url == "memory://"


async def test_operations_on_unknown_ids_and_queues() -> None:
    async with Sidequest("memory://") as sq:
        for action in (sq.jobs.get, sq.jobs.cancel, sq.jobs.rerun, sq.jobs.run):
            with pytest.raises(JobNotFoundError, match="#999"):
                await action(999)
        with pytest.raises(QueueNotFoundError):
            await sq.queues.pause("nope")
        with pytest.raises(ConfigurationError, match="unknown job state"):
            await sq.jobs.list(state="done")
        with pytest.raises(ConfigurationError, match="'newest' .* or 'oldest'"):
            await sq.jobs.list(order="latest")  # type: ignore[arg-type]


def test_backoff_formula() -> None:
    import random

    def job(attempt: int, strategy: str = "exponential", base: float | None = 1.0) -> JobRecord:
        now = datetime.now(UTC)
        return JobRecord(
            id=1,
            queue="q",
            state=JobState.RUNNING,
            script="s",
            job_class="c",
            attempt=attempt,
            inserted_at=now,
            available_at=now,
            retry_delay=base,
            backoff_strategy=strategy,
        )  # type: ignore[arg-type]

    rng = random.Random(7)
    for attempt in range(1, 8):
        delay = backoff_delay(job(attempt), rng)
        assert 0.5 * 2 ** (attempt - 1) <= delay < 1.5 * 2 ** (attempt - 1)
    assert backoff_delay(job(30)) == 3600.0
    assert backoff_delay(job(4, "fixed", 2.5)) == 2.5
    assert 0.5 <= backoff_delay(job(1, base=None)) < 1.5


def test_public_api_is_curated() -> None:
    exported = set(sidequest.__all__)
    assert {
        "Sidequest",
        "Job",
        "QueueConfig",
        "Complete",
        "Fail",
        "Retry",
        "Snooze",
        "JobRecord",
        "DuplicateJobError",
        "InvalidPayloadError",
        "BackendNotFoundError",
        "JobNotFoundError",
        "LeaseLostError",
        "ConfigurationError",
        "SidequestError",
    } <= exported
    assert all(not name.startswith("_") or name == "__version__" for name in exported)
    assert all(hasattr(sidequest, name) for name in exported)
    for name in exported:
        obj = getattr(sidequest, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert obj.__doc__, f"{name} needs a docstring (its default message)"
            assert issubclass(obj, sidequest.SidequestError)


def test_result_helpers_are_inert_values() -> None:
    job = jobs.Echo()
    assert job.complete(1) == sidequest.Complete(1)
    assert job.retry("x", delay=timedelta(seconds=2)) == sidequest.Retry("x", 2.0)
    assert job.snooze(3) == sidequest.Snooze(3.0)
    with pytest.raises(ConfigurationError):
        job.snooze(-1)
