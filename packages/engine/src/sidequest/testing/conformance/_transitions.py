"""The transitions a worker sends: start, complete, fail, retry, snooze and release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from sidequest._transitions import (
    RUN_NOW,
    complete,
    fail,
    release,
    retry,
    snooze_running,
    snooze_waiting,
    start,
)
from sidequest.backend import Backend, ErrorRecord, JobState, Transition

from ._fixtures import (
    QUEUE,
    WORKER,
    an_error,
    apply,
    assert_changed_only,
    assert_times,
    enqueue_one,
    make_job,
    near,
    typed,
)

LEASE_FIELDS = ("lease_token", "lease_expires_at")
ALL_STATES = frozenset(JobState)
RESULTS: list[Any] = [None, 0, 0.0, False, "", [], {}, "text", 12.5, {"nested": [1, {"a": None}], "ü": "ß"}]


class TransitionTests:
    """Each engine transition changes exactly what it says, fenced by state and lease token."""

    async def test_start_runs_a_claimed_job(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED)
        before = await backend.now()
        running = await apply(backend, claimed.id, start(claimed))
        after = await backend.now()
        assert (running.state, running.attempt) == (JobState.RUNNING, 1)
        assert running.attempted_at is not None and before <= running.attempted_at <= after
        assert_changed_only(claimed, running, "state", "attempt", "attempted_at")
        assert await backend.get_job(claimed.id) == running
        assert_times(running)

    async def test_start_with_a_wrong_token_is_refused(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED)
        forged = attrs.evolve(start(claimed), lease_token="not-the-token")
        assert await backend.transition(claimed.id, forged) is None
        assert await backend.get_job(claimed.id) == claimed

    async def test_start_twice_is_refused(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED)
        running = await apply(backend, claimed.id, start(claimed))
        assert await backend.transition(claimed.id, start(claimed)) is None
        assert await backend.get_job(claimed.id) == running

    async def test_start_of_a_waiting_job_is_refused(self, backend: Backend) -> None:
        job = await enqueue_one(backend)
        assert await backend.transition(job.id, start(job)) is None
        assert await backend.get_job(job.id) == job

    @pytest.mark.parametrize("result", RESULTS, ids=repr)
    async def test_complete_stores_the_result(self, backend: Backend, result: Any) -> None:
        running = await make_job(backend, JobState.RUNNING)
        before = await backend.now()
        done = await apply(backend, running.id, complete(running, result))
        after = await backend.now()
        assert done.state == JobState.COMPLETED
        assert typed(done.result) == typed(result)
        assert done.completed_at is not None and before <= done.completed_at <= after
        assert done.lease_token is None and done.lease_expires_at is None
        assert_changed_only(running, done, "state", "result", "completed_at", *LEASE_FIELDS)
        fetched = await backend.get_job(running.id)
        assert fetched == done and fetched is not None and typed(fetched.result) == typed(result)

    async def test_complete_with_a_wrong_token_is_refused(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        forged = attrs.evolve(complete(running, 1), lease_token="stale")
        assert await backend.transition(running.id, forged) is None
        assert await backend.get_job(running.id) == running

    async def test_fail_appends_the_error(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        error = ErrorRecord(
            type="builtins.KeyError",
            message="clé manquante: 'x' 🚫",
            traceback="Traceback (most recent call last):\n  File \"job.py\", line 3\nKeyError: 'x'\n",
            attempt=1,
            worker="sidequest@host-42",
            at=datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
        )
        failed = await apply(backend, running.id, fail(running, error))
        assert failed.state == JobState.FAILED
        assert failed.errors == (error,)
        assert failed.failed_at is not None and failed.lease_token is None
        assert_changed_only(running, failed, "state", "errors", "failed_at", *LEASE_FIELDS)
        assert await backend.get_job(running.id) == failed

    async def test_error_with_only_type_and_message(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        error = ErrorRecord(type="Error", message="")
        failed = await apply(backend, running.id, fail(running, error))
        assert failed.errors == (error,)

    async def test_errors_accumulate_in_order(self, backend: Backend) -> None:
        job = await make_job(backend, JobState.RUNNING)
        errors = [an_error(f"attempt {n}", attempt=n) for n in (1, 2, 3)]
        for error in errors[:2]:
            job = await apply(backend, job.id, retry(job, error, 0.0))
            (job,) = await backend.claim(QUEUE, 1, WORKER, 60)
            job = await apply(backend, job.id, start(job))
        failed = await apply(backend, job.id, fail(job, errors[2]))
        assert failed.errors == tuple(errors)
        assert failed.attempt == 3

    async def test_retry_waits_the_given_delay(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        before = await backend.now()
        waiting = await apply(backend, running.id, retry(running, an_error(), 30.0))
        after = await backend.now()
        assert (waiting.state, waiting.attempt) == (JobState.WAITING, 1)
        assert before + timedelta(seconds=29.999) <= waiting.available_at <= after + timedelta(seconds=30.001)
        assert waiting.errors == (an_error(),)
        assert waiting.failed_at is None and waiting.lease_token is None
        assert_changed_only(running, waiting, "state", "available_at", "errors", *LEASE_FIELDS)
        assert await backend.claim(QUEUE, 10, WORKER, 60) == []

    async def test_retry_without_delay_is_ready_again(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        await apply(backend, running.id, retry(running, an_error(), 0.0))
        (again,) = await backend.claim(QUEUE, 1, "worker-b", 60)
        assert (again.id, again.attempt, again.claimed_by) == (running.id, 1, "worker-b")

    async def test_retry_at_max_attempts_fails(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING, max_attempts=1)
        failed = await apply(backend, running.id, retry(running, an_error(), 0.0))
        assert failed.state == JobState.FAILED and failed.failed_at is not None
        assert failed.errors == (an_error(),)

    async def test_snooze_running_does_not_count_the_attempt(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        before = await backend.now()
        snoozed = await apply(backend, running.id, snooze_running(running, 10.0))
        assert (snoozed.state, snoozed.attempt, snoozed.errors) == (JobState.WAITING, 0, ())
        assert near(snoozed.available_at, before + timedelta(seconds=10), 0.5)
        assert snoozed.available_at >= before + timedelta(seconds=9.999)
        assert_changed_only(running, snoozed, "state", "attempt", "available_at", *LEASE_FIELDS)
        assert await backend.claim(QUEUE, 10, WORKER, 60) == []

    async def test_release_a_claimed_job(self, backend: Backend) -> None:
        claimed = await make_job(backend, JobState.CLAIMED)
        waiting = await apply(backend, claimed.id, release(claimed))
        assert (waiting.state, waiting.attempt) == (JobState.WAITING, 0)
        assert waiting.lease_token is None and waiting.lease_expires_at is None
        assert waiting.available_at <= await backend.now()
        (again,) = await backend.claim(QUEUE, 1, WORKER, 60)
        assert again.id == claimed.id

    async def test_release_a_running_job_gives_the_attempt_back(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        waiting = await apply(backend, running.id, release(running))
        assert (waiting.state, waiting.attempt, waiting.errors) == (JobState.WAITING, 0, ())
        assert waiting.lease_token is None and waiting.available_at <= await backend.now()
        assert [j.id for j in await backend.claim(QUEUE, 1, WORKER, 60)] == [running.id]

    async def test_release_with_a_wrong_token_is_refused(self, backend: Backend) -> None:
        running = await make_job(backend, JobState.RUNNING)
        forged = attrs.evolve(release(running), lease_token="stale")
        assert await backend.transition(running.id, forged) is None
        assert await backend.get_job(running.id) == running

    async def test_fractional_durations_keep_millisecond_precision(self, backend: Backend) -> None:
        job = await enqueue_one(backend, available_in=0.0015)
        assert_times(job)
        await apply(backend, job.id, RUN_NOW)
        (claimed,) = await backend.claim(QUEUE, 1, WORKER, 1.0005)
        assert_times(claimed)
        await backend.heartbeat(WORKER, {job.id: str(claimed.lease_token)}, 2.0004)
        renewed = await backend.get_job(job.id)
        assert renewed is not None
        assert_times(renewed)
        running = await apply(backend, job.id, start(claimed))
        assert_times(await apply(backend, job.id, retry(running, an_error(), 1.2345678)))
        assert_times(await apply(backend, job.id, snooze_waiting(0.0004)))

    @pytest.mark.parametrize("state", list(JobState))
    async def test_guard_mismatch_changes_nothing(self, backend: Backend, state: JobState) -> None:
        job = await make_job(backend, state)
        change = Transition(
            from_states=ALL_STATES - {state},
            to_state=JobState.COMPLETED,
            attempt_delta=1,
            stamp="completed_at",
            available_in=5.0,
            set_result=True,
            result="nope",
            error=an_error(),
            clear_lease=True,
        )
        assert await backend.transition(job.id, change) is None
        assert await backend.get_job(job.id) == job

    @pytest.mark.parametrize(
        ("state", "builder"),
        [
            (JobState.WAITING, "complete"),
            (JobState.CLAIMED, "complete"),
            (JobState.CLAIMED, "fail"),
            (JobState.CLAIMED, "snooze"),
            (JobState.COMPLETED, "fail"),
            (JobState.FAILED, "complete"),
            (JobState.CANCELED, "retry"),
        ],
    )
    async def test_worker_transition_from_a_wrong_state(
        self, backend: Backend, state: JobState, builder: str
    ) -> None:
        job = await make_job(backend, state)
        change = {
            "complete": complete(job, "x"),
            "fail": fail(job, an_error()),
            "snooze": snooze_running(job, 1.0),
            "retry": retry(job, an_error(), 0.0),
        }[builder]
        assert await backend.transition(job.id, change) is None
        assert await backend.get_job(job.id) == job

    async def test_transition_of_an_unknown_job(self, backend: Backend) -> None:
        job = await make_job(backend, JobState.RUNNING)
        assert await backend.transition(job.id + 1000, complete(job, 1)) is None
        assert await backend.transition(-1, complete(job, 1)) is None
