"""Live progress of a set of jobs: counts by state, a progress bar and recent events."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from datetime import UTC, datetime

import click

from .._records import JobRecord, JobState
from ._output import duration, state_text

SHOWN_STATES = ("waiting", "claimed", "running", "completed", "failed", "canceled")
FINISHED = {"completed", "failed", "canceled"}
BAR_WIDTH = 40


class Tracker:
    """Remembers each job's last seen state and turns changes into readable events."""

    def __init__(self, recent: int = 6) -> None:
        self.jobs: dict[int, JobRecord] = {}
        self.recent: deque[str] = deque(maxlen=recent)

    def update(self, records: Iterable[JobRecord]) -> list[str]:
        """Record the latest ``records``; return the events since the previous update."""
        events = []
        for job in records:
            before = self.jobs.get(job.id)
            self.jobs[job.id] = job
            event = describe_change(before, job)
            if event:
                events.append(event)
                self.recent.append(event)
        return events

    @property
    def counts(self) -> Counter[str]:
        return Counter(job.state.value for job in self.jobs.values())

    @property
    def finished(self) -> int:
        return sum(n for state, n in self.counts.items() if state in FINISHED)


def describe_change(before: JobRecord | None, job: JobRecord) -> str | None:
    """What happened between two observations of a job, or None when nothing worth telling."""
    if before is not None and _signature(before) == _signature(job):
        return None
    name = f"#{job.id} {job.job_class}"
    if job.state == JobState.COMPLETED:
        tries = f" after {job.attempt} attempts" if job.attempt > 1 else ""
        return f"{name} {state_text('completed')}{tries}"
    if job.state == JobState.FAILED:
        last = job.errors[-1] if job.errors else None
        why = f": {last.type}: {last.message}" if last else ""
        return f"{name} {state_text('failed')} on attempt {job.attempt}{why}"
    if job.state == JobState.CANCELED:
        return f"{name} {state_text('canceled')}"
    if job.state != JobState.WAITING or before is None:
        return None
    wait = (job.available_at - datetime.now(UTC)).total_seconds()
    if len(job.errors) > len(before.errors):
        return f"{name} will retry in {duration(max(0.0, round(wait, 1)))}: {job.errors[-1].message}"
    if before.state == JobState.WAITING and job.available_at > before.available_at:
        return f"{name} snoozed for {duration(round(max(wait, 0.0), 1))} (no attempt used)"
    if before.state in (JobState.CLAIMED, JobState.RUNNING):
        if wait > 0.05:
            return f"{name} snoozed for {duration(round(wait, 1))} (no attempt used)"
        return f"{name} given back to waiting"
    return None


def _signature(job: JobRecord) -> tuple[object, ...]:
    return (job.state, job.attempt, len(job.errors), job.available_at)


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``[#########.........]``."""
    filled = round(width * done / total) if total else 0
    return "[" + click.style("#" * filled, fg="green") + "." * (width - filled) + "]"


def counts_line(counts: Counter[str]) -> str:
    return "   ".join(f"{state_text(state)} {counts.get(state, 0)}" for state in SHOWN_STATES)


def status_line(tracker: Tracker, elapsed: float) -> str:
    """One plain line: ``[  3.0s] 12/52 finished: waiting 30, running 10, …``."""
    counts = tracker.counts
    parts = ", ".join(f"{state} {counts.get(state, 0)}" for state in SHOWN_STATES if counts.get(state))
    return f"[{elapsed:6.1f}s] {tracker.finished}/{len(tracker.jobs)} finished: {parts or 'no jobs yet'}"


def block(tracker: Tracker, title: str, footer: str) -> list[str]:
    """The lines of the live view."""
    total = len(tracker.jobs)
    done = tracker.finished
    percent = f"{100 * done // total}%" if total else "0%"
    lines = [
        title,
        f"{bar(done, total)} {done}/{total} finished {percent}",
        counts_line(tracker.counts),
        "recent:",
    ]
    lines.extend(f"  {event}" for event in tracker.recent)
    lines.extend("" for _ in range((tracker.recent.maxlen or 0) - len(tracker.recent)))
    lines.append(footer)
    return lines


class LiveView:
    """Redraws a block of lines in place on a terminal; prints plain lines otherwise."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._drawn = 0
        self._last_status = ""
        self._last_status_at = -10.0

    def draw(self, tracker: Tracker, events: list[str], title: str, footer: str, elapsed: float) -> None:
        if self.tty:
            lines = [_fit(line) for line in block(tracker, title, footer)]
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            click.echo(up + "\n".join(line + "\x1b[K" for line in lines))
            self._drawn = len(lines)
            return
        for event in events:
            click.echo(click.unstyle(event))
        status = status_line(tracker, elapsed)
        changed = status.split("]", 1)[1] != self._last_status.split("]", 1)[-1]
        if changed and elapsed - self._last_status_at >= 1.0:
            click.echo(status)
            self._last_status, self._last_status_at = status, elapsed


def _fit(line: str, width: int = 110) -> str:
    plain = click.unstyle(line)
    return line if len(plain) <= width else plain[: width - 1] + "…"
