"""Graceful shutdown, lease renewal, expired-lease release and fencing on the memory backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import attrs
import pytest
import sample_jobs as jobs
from sidequest import JobState, Sidequest
from sidequest._durations import utcnow
from sidequest.backend import WORKER_LOST, MemoryBackend


def engine(backend: MemoryBackend, **options: object) -> Sidequest:
    defaults: dict[str, object] = {"poll_interval": 0.02, "heartbeat_interval": 0.2, "lease": 2}
    return Sidequest(backend, **(defaults | options))  # type: ignore[arg-type]


async def wait_state(sq: Sidequest, job_id: int, state: JobState, timeout: float = 5) -> None:
    for _ in range(int(timeout / 0.01)):
        if (await sq.jobs.get(job_id)).state == state:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"job #{job_id} never reached {state}")


async def wait_idle(sq: Sidequest, timeout: float = 6) -> None:
    """Until the engine holds no job (or ``timeout`` seconds)."""
    for _ in range(int(timeout / 0.01)):
        if not sq.running_jobs:
            return
        await asyncio.sleep(0.01)


async def test_stop_waits_for_running_jobs() -> None:
    sq = engine(MemoryBackend(), shutdown_timeout=5)
    await sq.start()
    records = await sq.build(jobs.Sleeps).enqueue_many([(0.3,)] * 5)
    await wait_state(sq, records[-1].id, JobState.RUNNING)
    await sq.stop()
    finals = [await sq.jobs.get(r.id) for r in records]
    assert [r.state for r in finals] == [JobState.COMPLETED] * 5


async def test_stop_releases_jobs_after_shutdown_timeout() -> None:
    sq = engine(MemoryBackend(), shutdown_timeout=0.2)
    await sq.start()
    records = await sq.build(jobs.Sleeps).enqueue_many([(30,)] * 3)
    await wait_state(sq, records[-1].id, JobState.RUNNING)
    await sq.stop()
    finals = [await sq.jobs.get(r.id) for r in records]
    assert {r.state for r in finals} == {JobState.WAITING}
    assert {r.attempt for r in finals} == {0}, "an interrupted run does not consume an attempt"
    assert all(r.lease_token is None and not r.errors for r in finals)
    assert sq.stats.released == 3


async def test_release_now_skips_the_wait() -> None:
    sq = engine(MemoryBackend(), shutdown_timeout=60)
    await sq.start()
    job = await sq.build(jobs.Sleeps).enqueue(30)
    await wait_state(sq, job.id, JobState.RUNNING)
    stopping = asyncio.create_task(sq.stop())
    await asyncio.sleep(0.1)
    sq.release_now()
    await asyncio.wait_for(stopping, 5)
    assert (await sq.jobs.get(job.id)).state == JobState.WAITING


async def test_sync_job_ignoring_abort_is_released_without_blocking_stop() -> None:
    sq = engine(MemoryBackend(), shutdown_timeout=0.1)
    await sq.start()
    job = await sq.build(jobs.SyncSleepsCooperatively).enqueue(0.5)
    await wait_state(sq, job.id, JobState.RUNNING)
    await asyncio.wait_for(sq.stop(), 5)
    assert (await sq.jobs.get(job.id)).state == JobState.WAITING


async def test_expired_lease_is_released_and_counted_as_an_attempt() -> None:
    backend = MemoryBackend()
    sq = engine(backend, release_expired_interval=0.05)
    await sq.configure()
    job = await sq.build(jobs.Echo).max_attempts(3).enqueue("x")
    await backend.ensure_queue(await backend.get_queue("default"))  # type: ignore[arg-type]
    # A worker that claims and starts the job, then dies without renewing its lease:
    (claimed,) = await backend.claim("default", 1, "dead-worker", 0.0)
    from sidequest._transitions import start

    assert await backend.transition(claimed.id, start(claimed)) is not None
    await sq.start()
    record = await sq.jobs.wait(job.id, timeout=5)
    assert record.state == JobState.COMPLETED
    assert record.attempt == 2
    assert [e.type for e in record.errors] == [WORKER_LOST]
    assert record.errors[0].worker == "dead-worker"
    assert sq.stats.rescued == 1
    await sq.close()


async def test_poison_job_fails_when_its_last_attempt_is_lost() -> None:
    backend = MemoryBackend()
    sq = engine(backend)
    await sq.configure()
    job = await sq.build(jobs.Echo).max_attempts(1).enqueue()
    (claimed,) = await backend.claim("default", 1, "dead-worker", 0.0)
    from sidequest._transitions import start

    await backend.transition(claimed.id, start(claimed))
    await asyncio.sleep(0.01)
    (released,) = await backend.release_expired()
    assert released.state == JobState.FAILED and released.failed_at is not None
    assert (await sq.jobs.get(job.id)).errors[-1].type == WORKER_LOST


async def test_lost_lease_aborts_the_run_and_its_write_is_fenced() -> None:
    backend = MemoryBackend()
    sq = engine(backend, release_expired_interval=3600)
    await sq.start()
    job = await sq.build(jobs.Sleeps).enqueue(0.6)
    await wait_state(sq, job.id, JobState.RUNNING)
    # Another node decides this worker is dead: the lease is expired and released.
    current = backend._jobs[job.id]
    backend._jobs[job.id] = attrs.evolve(current, lease_expires_at=current.inserted_at - timedelta(seconds=1))
    await backend.release_expired()
    record = await sq.jobs.wait(job.id, timeout=10)
    assert record.state == JobState.COMPLETED
    assert record.attempt == 2
    assert sq.stats.stale_writes_rejected >= 1
    await sq.close()


async def test_heartbeat_extends_the_lease_of_long_jobs() -> None:
    backend = MemoryBackend()
    sq = engine(backend, lease=0.6, heartbeat_interval=0.1, release_expired_interval=0.05)
    await sq.start()
    job = await sq.build(jobs.Sleeps).enqueue(1.5)
    record = await sq.jobs.wait(job.id, timeout=10)
    assert (record.state, record.attempt, record.errors) == (JobState.COMPLETED, 1, ())
    assert sq.stats.rescued == 0
    await sq.close()


async def test_cleanup_routine_deletes_only_old_finished_jobs() -> None:
    backend = MemoryBackend()
    sq = engine(backend, cleanup_interval=0.05, cleanup_older_than=0.2)
    await sq.start()
    done = await sq.build(jobs.Echo).enqueue()
    later = await sq.build(jobs.Echo).delay(3600).enqueue()
    await sq.jobs.wait(done.id, timeout=5)
    for _ in range(200):
        if await backend.get_job(done.id) is None:
            break
        await asyncio.sleep(0.02)
    assert await backend.get_job(done.id) is None
    assert (await sq.jobs.get(later.id)).state == JobState.WAITING
    assert sq.stats.cleaned == 1
    await sq.close()


async def test_cleanup_can_be_disabled() -> None:
    sq = engine(MemoryBackend(), cleanup_interval=None, cleanup_older_than=0)
    await sq.start()
    job = await sq.build(jobs.Echo).enqueue()
    await sq.jobs.wait(job.id, timeout=5)
    await asyncio.sleep(0.2)
    assert (await sq.jobs.get(job.id)).state == JobState.COMPLETED
    await sq.close()


async def test_a_hanging_heartbeat_aborts_jobs_before_their_lease_expires() -> None:
    """Self-fencing: renewals that hang (half-open connection) count as failures."""

    class HangingHeartbeats(MemoryBackend):
        hang = False

        async def heartbeat(self, worker_id: str, leases: dict[int, str], lease: float | None) -> set[int]:  # type: ignore[override]
            if self.hang:
                await asyncio.sleep(3600)
            return await super().heartbeat(worker_id, leases, lease)

    backend = HangingHeartbeats()
    sq = engine(backend, lease=3, heartbeat_interval=0.5, release_expired_interval=3600)
    await sq.start()
    job = await sq.build(jobs.Sleeps).enqueue(30)
    await wait_state(sq, job.id, JobState.RUNNING)
    backend.hang = True
    started = asyncio.get_running_loop().time()
    await wait_idle(sq)
    elapsed = asyncio.get_running_loop().time() - started
    assert not sq.running_jobs, "the job was aborted"
    assert elapsed < 3, f"aborted {elapsed:.1f} s after renewals stopped: before the 3 s lease expired"
    assert sq.stats.stale_writes_rejected >= 1
    await sq.close()


class SlowCompletions(MemoryBackend):
    """Batched completions that wait for ``gate`` before they are written."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        self.writing.set()
        await self.gate.wait()
        return await super().complete_many(items)


async def test_a_completion_being_written_keeps_its_job_held_and_stop_waits_for_it() -> None:
    backend = SlowCompletions()
    sq = engine(backend, heartbeat_interval=0.1, lease=1)
    await sq.start()
    job = await sq.build(jobs.Echo).enqueue("done")
    await asyncio.wait_for(backend.writing.wait(), 5)
    # run() is over and its task has ended; the job is held (and its lease renewed) until written
    assert [r.id for r in sq.running_jobs] == [job.id]
    first = (await sq.jobs.get(job.id)).lease_expires_at
    await asyncio.sleep(0.5)
    stored = await sq.jobs.get(job.id)
    assert stored.state == JobState.RUNNING and stored.lease_expires_at > first
    stopping = asyncio.create_task(sq.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done(), "stop() returned while a completion was still unwritten"
    backend.gate.set()
    await asyncio.wait_for(stopping, 5)
    assert (await sq.jobs.get(job.id)).state == JobState.COMPLETED
    assert sq.stats.completed == 1 and sq.running_jobs == []


class FailingCompletions(MemoryBackend):
    """Batched completion writes that fail (the database went away) ``failures`` times."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def complete_many(self, items: Sequence[tuple[int, str, Any]]) -> set[int]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unreachable")
        return await super().complete_many(items)


async def test_a_failed_completion_write_is_reported_and_the_job_let_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = FailingCompletions(failures=1)
    sq = engine(backend)
    await sq.start()
    lost = await sq.build(jobs.Echo).enqueue("lost")
    for _ in range(500):
        if "could not record its completion" in caplog.text and not sq.running_jobs:
            break
        await asyncio.sleep(0.01)
    assert f"job #{lost.id}: could not record its completion" in caplog.text
    assert sq.running_jobs == [] and sq.stats.completed == 0
    assert (await sq.jobs.get(lost.id)).state == JobState.RUNNING  # until its lease expires
    later = await sq.build(jobs.Echo).enqueue("later")  # the next batch is written
    await wait_state(sq, later.id, JobState.COMPLETED)
    await sq.stop()
    assert sq.stats.completed == 1


async def test_a_rejected_completion_is_counted_as_a_stale_write() -> None:
    backend = SlowCompletions()
    sq = engine(backend)
    await sq.start()
    job = await sq.build(jobs.Echo).enqueue("x")
    await asyncio.wait_for(backend.writing.wait(), 5)
    await sq.jobs.cancel(job.id)  # canceled while its completion waits to be written
    backend.gate.set()
    await sq.stop()
    assert (await sq.jobs.get(job.id)).state == JobState.CANCELED
    assert sq.stats.completed == 0 and sq.stats.stale_writes_rejected == 1


class FaultyLookups(MemoryBackend):
    """``get_job`` fails ``failures`` more times (a connection reset), and hangs while
    ``hang`` is set (a half-open pooled connection)."""

    failures = 0
    hang = False

    async def get_job(self, job_id: int) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection reset")
        if self.hang:
            await asyncio.sleep(3600)
        return await super().get_job(job_id)


async def test_lease_renewal_goes_on_after_a_failed_lookup_of_a_lost_job() -> None:
    from sidequest._transitions import CANCEL

    backend = FaultyLookups()
    sq = engine(backend, lease=1.2, heartbeat_interval=0.2, release_expired_interval=0.1)
    await sq.start()
    canceled = await sq.build(jobs.Sleeps).enqueue(30)
    await wait_state(sq, canceled.id, JobState.RUNNING)
    backend.failures = 1
    await backend.transition(canceled.id, CANCEL)  # canceled by another process
    await wait_idle(sq)  # the heartbeat comes back without it; looking it up fails
    assert not sq.running_jobs, "aborted all the same"
    assert backend.failures == 0, "the lookup was made, and failed"
    long = await sq.build(jobs.Sleeps).enqueue(2.5)  # two leases long: lives only if renewals go on
    record = await sq.jobs.wait(long.id, timeout=10)
    assert (record.state, record.attempt, record.errors) == (JobState.COMPLETED, 1, ())
    assert sq.stats.rescued == 0
    await sq.close()


class GatedHeartbeats(MemoryBackend):
    """Heartbeats wait for ``gate`` (cleared: they hang, as on a half-open connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def heartbeat(self, worker_id: str, leases: dict[int, str], lease: float | None) -> set[int]:  # type: ignore[override]
        await self.gate.wait()
        return await super().heartbeat(worker_id, leases, lease)


async def test_a_job_claimed_after_renewals_hung_keeps_its_own_lease_and_claims_pause() -> None:
    backend = GatedHeartbeats()
    sq = engine(backend, lease=6, heartbeat_interval=0.5, release_expired_interval=3600)
    await sq.start()
    first = await sq.build(jobs.Sleeps).enqueue(60)
    await wait_state(sq, first.id, JobState.RUNNING)
    backend.gate.clear()  # every renewal from now on hangs: trusted until about 5 s from now
    await asyncio.sleep(2.0)
    later = await sq.build(jobs.Sleeps).enqueue(3.5)  # claimed now: its lease runs 6 s from here
    done = await sq.jobs.wait(later.id, timeout=10)
    assert done.state == JobState.COMPLETED, "fenced by its own claim time, not by the first job's"
    await wait_idle(sq)
    assert not sq.running_jobs, "the first job was fenced before its lease expired"
    waiting = await sq.build(jobs.Echo).enqueue()
    await asyncio.sleep(1.0)
    assert (await sq.jobs.get(waiting.id)).state == JobState.WAITING, "no claim while renewals are overdue"
    backend.gate.set()  # the hung call returns: renewals work again
    assert (await sq.jobs.wait(waiting.id, timeout=5)).state == JobState.COMPLETED
    await sq.close()


class Unreachable(MemoryBackend):
    """``down``: heartbeats and the database clock fail (claims are not tried meanwhile)."""

    down = False

    async def heartbeat(self, worker_id: str, leases: dict[int, str], lease: float | None) -> set[int]:  # type: ignore[override]
        if self.down:
            raise ConnectionError("database unreachable")
        return await super().heartbeat(worker_id, leases, lease)

    async def now(self) -> Any:
        if self.down:
            raise ConnectionError("database unreachable")
        return await super().now()


class SlowClaimReply(Unreachable):
    """The next claim's reply arrives ``delay`` s after the claim ran; the database is
    unreachable from then on."""

    delay = 0.0

    async def claim_and_start(self, queue: str, limit: int, worker_id: str, lease: float) -> Any:
        claimed = await super().claim_and_start(queue, limit, worker_id, lease)
        if claimed and self.delay:
            await asyncio.sleep(self.delay)
            self.delay, self.down = 0.0, True
        return claimed


async def test_a_job_is_fenced_by_its_own_claim_however_late_the_reply() -> None:
    """Nothing that did not renew the job (an idle reset meanwhile) moves its fence later."""
    backend = SlowClaimReply()
    sq = engine(backend, lease=4, heartbeat_interval=0.5, release_expired_interval=3600)
    await sq.start()
    await asyncio.sleep(0.3)
    backend.delay = 2.0
    job = await sq.build(jobs.Sleeps).enqueue(30)
    await wait_state(sq, job.id, JobState.RUNNING)
    expires = backend._jobs[job.id].lease_expires_at
    assert expires is not None
    for _ in range(500):  # the reply arrives 2 s after the claim ran
        if sq.running_jobs:
            break
        await asyncio.sleep(0.01)
    assert sq.running_jobs
    await wait_idle(sq, timeout=8)
    assert not sq.running_jobs
    margin = (expires - utcnow()).total_seconds()
    assert margin > 0.5, f"aborted {margin:.2f} s before its stored lease expired: about 1 s expected"
    await sq.close()


async def test_claims_stay_paused_until_the_database_answers_again() -> None:
    backend = Unreachable()
    sq = engine(backend, lease=2, heartbeat_interval=0.3, release_expired_interval=3600)
    await sq.start()
    held = await sq.build(jobs.Sleeps).enqueue(30)
    await wait_state(sq, held.id, JobState.RUNNING)
    backend.down = True
    await wait_idle(sq, timeout=5)  # fenced, and gone
    assert not sq.running_jobs
    waiting = await sq.build(jobs.Echo).enqueue()
    await asyncio.sleep(1.5)
    assert (await backend.get_job(waiting.id)).state == JobState.WAITING, "no claim while it cannot renew"
    backend.down = False
    assert (await sq.jobs.wait(waiting.id, timeout=5)).state == JobState.COMPLETED
    await sq.close()


async def test_a_hanging_lookup_of_a_lost_job_neither_keeps_it_running_nor_stops_renewals() -> None:
    from sidequest._transitions import CANCEL

    backend = FaultyLookups()
    sq = engine(backend, lease=3, heartbeat_interval=0.5, release_expired_interval=3600)
    await sq.start()
    other = await sq.build(jobs.Sleeps).enqueue(30)
    lost = await sq.build(jobs.Sleeps).enqueue(30)
    await wait_state(sq, other.id, JobState.RUNNING)
    await wait_state(sq, lost.id, JobState.RUNNING)
    backend.hang = True
    await backend.transition(lost.id, CANCEL)  # canceled by another process
    await asyncio.sleep(4.5)  # past the lease of every job not renewed since
    assert [record.id for record in sq.running_jobs] == [other.id], "the lost job was aborted"
    expires = backend._jobs[other.id].lease_expires_at
    assert expires is not None and expires > utcnow(), "the other job's lease is still renewed"
    backend.hang = False
    await sq.close()


async def test_a_paused_claim_loop_does_not_spin_while_the_settings_re_read_hangs() -> None:
    class HangingSettings(MemoryBackend):
        hang = False

        async def list_queues(self) -> Any:
            if self.hang:
                await asyncio.sleep(3600)
            return await super().list_queues()

    backend = HangingSettings()
    sq = engine(backend, poll_interval=0.5)
    await sq.start()
    dispatcher = sq._dispatcher
    assert dispatcher is not None
    await asyncio.sleep(0.3)
    passes = 0
    dispatch_once = dispatcher.dispatch_once

    async def counted() -> int:
        nonlocal passes
        passes += 1
        return await dispatch_once()

    dispatcher.dispatch_once = counted  # type: ignore[method-assign]
    dispatcher.claims_paused = True
    backend.hang = True
    dispatcher.wake()
    await asyncio.sleep(0.5)  # a pass starts the re-read of the settings, which hangs
    dispatcher.wake()  # notified again meanwhile
    passes = 0
    await asyncio.sleep(1.0)
    assert passes < 10, f"{passes} passes in 1 s"
    dispatcher.claims_paused = False
    backend.hang = False
    await sq.close()
