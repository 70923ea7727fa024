"""Recurring jobs stored in the database, fired exactly once per tick by any live node."""

from __future__ import annotations

import builtins
import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
from attrs import field, frozen

from . import _payload
from ._cron import Cron, zone
from ._durations import Duration, to_seconds
from ._errors import ConfigurationError, ScheduleNotFoundError
from ._job import Job
from ._records import CatchUp, JobRecord, NewJob, ScheduleRecord, ScheduleState

if TYPE_CHECKING:
    from ._engine import Sidequest

log = logging.getLogger("sidequest")
MAX_TICKS_PER_PASS = 1000
MISFIRE_GRACE = 60.0
_LOOKBACKS = (60, 3600, 86400, 32 * 86400, 400 * 86400, 5 * 366 * 86400)


@frozen
class Schedule:
    """A recurring job declared in ``Sidequest(schedules=[...])`` and reconciled at start.

    ``catch_up`` decides what happens to ticks missed while every node was down:
    ``"latest"`` (one run for the most recent), ``"all"`` or ``"none"``. With
    ``no_overlap`` a tick is skipped while the previous run is still alive.
    """

    job_class: type[Job]
    cron: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(factory=dict)
    name: str | None = None
    tz: str = "UTC"
    queue: str = "default"
    catch_up: CatchUp = "latest"
    no_overlap: bool = False
    max_attempts: int = 5
    timeout: float | None = None


def definition(
    engine: Sidequest,
    job_class: type[Job],
    cron: str,
    *,
    args: tuple[Any, ...] | builtins.list[Any],
    kwargs: Mapping[str, Any],
    name: str | None,
    tz: str,
    queue: str,
    catch_up: str,
    no_overlap: bool,
    max_attempts: int,
    timeout: float | None,
    retry_delay: float | None = 1.0,
    backoff_strategy: str = "exponential",
    constructor_args: tuple[Any, ...] = (),
    declared: bool = False,
) -> ScheduleRecord:
    """Validate a schedule and build its record (``next_fire_at`` still to be set)."""
    Cron.parse(cron)
    zone(tz)
    if catch_up not in ("latest", "all", "none"):
        raise ConfigurationError(f"catch_up must be 'latest', 'all' or 'none', got {catch_up!r}")
    script, class_name = engine.resolver.name_of(job_class)
    limit = engine.max_payload_bytes
    _payload.validate_items(tuple(args), "args", max_bytes=limit)
    _payload.validate(dict(kwargs), "kwargs", max_bytes=limit)
    _payload.validate_items(tuple(constructor_args), "constructor_args", max_bytes=limit)
    if name is not None and (not isinstance(name, str) or not name or len(name) > 255):
        raise ConfigurationError(f"schedule name must be a non-empty string of ≤ 255 chars, got {name!r}")
    return ScheduleRecord(
        name=name or f"{class_name}:{cron}",
        cron=cron,
        tz=tz,
        queue=queue,
        script=script,
        job_class=class_name,
        args=tuple(args),
        kwargs=dict(kwargs),
        constructor_args=tuple(constructor_args),
        max_attempts=max_attempts,
        timeout=timeout,
        retry_delay=retry_delay,
        backoff_strategy=backoff_strategy,  # type: ignore[arg-type]
        catch_up=catch_up,  # type: ignore[arg-type]
        no_overlap=no_overlap,
        declared=declared,
        next_fire_at=datetime.min,
    )


async def save(engine: Sidequest, record: ScheduleRecord) -> ScheduleRecord:
    """Store a schedule, keeping its position and paused state when its timing is unchanged."""
    backend = await engine.connected()
    existing = await backend.get_schedule(record.name)
    now = await backend.now()
    if existing is not None and (existing.cron, existing.tz) == (record.cron, record.tz):
        record = attrs.evolve(
            record,
            next_fire_at=existing.next_fire_at,
            last_fired_at=existing.last_fired_at,
            last_job_id=existing.last_job_id,
            state=ScheduleState.ACTIVE if existing.state == ScheduleState.DISABLED else existing.state,
        )
    else:
        state = (
            existing.state if existing and existing.state != ScheduleState.DISABLED else ScheduleState.ACTIVE
        )
        record = attrs.evolve(
            record,
            next_fire_at=Cron.parse(record.cron).next_after(now, zone(record.tz)),
            state=state,
            last_fired_at=existing.last_fired_at if existing else None,
            last_job_id=existing.last_job_id if existing else None,
        )
    return await backend.save_schedule(record)


async def reconcile(engine: Sidequest, declared: builtins.list[Schedule]) -> None:
    """Store the declared schedules; disable declared ones no longer in the config."""
    names = set()
    for item in declared:
        record = definition(
            engine,
            item.job_class,
            item.cron,
            args=item.args,
            kwargs=item.kwargs,
            name=item.name,
            tz=item.tz,
            queue=item.queue,
            catch_up=item.catch_up,
            no_overlap=item.no_overlap,
            max_attempts=item.max_attempts,
            timeout=item.timeout,
            declared=True,
        )
        names.add(record.name)
        await save(engine, record)
    backend = engine.backend
    for stored in await backend.list_schedules():
        if stored.declared and stored.name not in names and stored.state != ScheduleState.DISABLED:
            await backend.set_schedule_state(stored.name, ScheduleState.DISABLED)
            log.info("schedule %r is no longer declared: disabled", stored.name)


def tick_job(schedule: ScheduleRecord, fire_at: datetime) -> NewJob:
    """The job for one tick; its digest makes a second insert of the same tick a duplicate."""
    stamp = fire_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    key = f"schedule:{schedule.name}:{stamp}"
    return NewJob(
        queue=schedule.queue,
        script=schedule.script,
        job_class=schedule.job_class,
        args=schedule.args,
        kwargs=schedule.kwargs,
        constructor_args=schedule.constructor_args,
        max_attempts=schedule.max_attempts,
        timeout=schedule.timeout,
        retry_delay=schedule.retry_delay,
        backoff_strategy=schedule.backoff_strategy,
        unique_digest=hashlib.sha256(key.encode()).hexdigest(),
        uniqueness_config={"type": "fixed-window", "schedule": schedule.name, "fire_at": stamp},
    )


def due_ticks(schedule: ScheduleRecord, now: datetime) -> tuple[builtins.list[datetime], datetime]:
    """The ticks to enqueue now under the catch-up policy, and the next ``next_fire_at``."""
    cron, tz = Cron.parse(schedule.cron), zone(schedule.tz)
    if schedule.catch_up == "all":
        ticks: builtins.list[datetime] = []
        tick = schedule.next_fire_at
        while tick <= now and len(ticks) < MAX_TICKS_PER_PASS:
            ticks.append(tick)
            tick = cron.next_after(tick, tz)
        return ticks, tick if tick <= now else cron.next_after(now, tz)
    latest = _latest_tick(cron, tz, schedule.next_fire_at, now)
    following = cron.next_after(now, tz)
    if schedule.catch_up == "none" and (now - latest).total_seconds() > MISFIRE_GRACE:
        return [], following
    return [latest], following


def _latest_tick(cron: Cron, tz: Any, first: datetime, now: datetime) -> datetime:
    for lookback in _LOOKBACKS:
        start = max(first - timedelta(microseconds=1), now - timedelta(seconds=lookback))
        latest, tick = None, cron.next_after(start, tz)
        while tick <= now:
            latest, tick = tick, cron.next_after(tick, tz)
        if latest is not None:
            return latest
    return first


async def fire_due(engine: Sidequest) -> int:
    """Enqueue the due ticks of every active schedule; returns how many jobs were inserted."""
    backend = engine.backend
    now = await backend.now()
    inserted = 0
    for schedule in await backend.list_schedules():
        if schedule.state != ScheduleState.ACTIVE or schedule.next_fire_at > now:
            continue
        try:
            ticks, following = due_ticks(schedule, now)
        except ConfigurationError:
            log.exception("schedule %r is invalid; pausing it", schedule.name)
            await backend.set_schedule_state(schedule.name, ScheduleState.PAUSED)
            continue
        records: builtins.list[JobRecord] = []
        if ticks and not await _overlaps(engine, schedule):
            records = await engine.enqueue_jobs([tick_job(schedule, t) for t in ticks], skip_duplicates=True)
        await backend.advance_schedule(
            schedule.name,
            expected_next_fire_at=schedule.next_fire_at,
            next_fire_at=following,
            last_fired_at=ticks[-1] if ticks else None,
            last_job_id=records[-1].id if records else None,
        )
        inserted += len(records)
    return inserted


async def _overlaps(engine: Sidequest, schedule: ScheduleRecord) -> bool:
    if not schedule.no_overlap or schedule.last_job_id is None:
        return False
    previous = await engine.backend.get_job(schedule.last_job_id)
    if previous is not None and not previous.finished:
        log.info("schedule %r: previous run #%s still alive; tick skipped", schedule.name, previous.id)
        return True
    return False


class ScheduleOperations:
    """``sq.schedules``: list, pause, resume and delete stored schedules."""

    def __init__(self, engine: Sidequest) -> None:
        self._engine = engine

    async def list(self) -> builtins.list[ScheduleRecord]:
        return await (await self._engine.connected()).list_schedules()

    async def get(self, name: str) -> ScheduleRecord:
        found = await (await self._engine.connected()).get_schedule(name)
        if found is None:
            raise ScheduleNotFoundError(name)
        return found

    async def pause(self, name: str) -> ScheduleRecord:
        return await self._set(name, ScheduleState.PAUSED)

    async def resume(self, name: str) -> ScheduleRecord:
        """Fire again from the next tick after now (ticks missed while paused are skipped)."""
        backend = await self._engine.connected()
        current = await self.get(name)
        now = await backend.now()
        following = Cron.parse(current.cron).next_after(now, zone(current.tz))
        await backend.advance_schedule(
            name,
            expected_next_fire_at=current.next_fire_at,
            next_fire_at=following,
            last_fired_at=None,
            last_job_id=None,
        )
        return await self._set(name, ScheduleState.ACTIVE)

    async def delete(self, name: str) -> None:
        if not await (await self._engine.connected()).delete_schedule(name):
            raise ScheduleNotFoundError(name)

    async def _set(self, name: str, state: ScheduleState) -> ScheduleRecord:
        found = await (await self._engine.connected()).set_schedule_state(name, state)
        if found is None:
            raise ScheduleNotFoundError(name)
        return found


def interval_seconds(value: Duration) -> float:
    seconds = to_seconds(value, "schedule_interval")
    if seconds <= 0:
        raise ConfigurationError("schedule_interval must be positive")
    return seconds
