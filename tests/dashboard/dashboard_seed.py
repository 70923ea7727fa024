"""Job classes and helpers that put jobs in every state, for the dashboard tests (unit and e2e)."""

from __future__ import annotations

import re
from typing import Any

from sidequest import ErrorRecord, Job, JobRecord, JobState, Sidequest
from sidequest.backend import NewJob, Transition

WORKER = "web-1:4242:ab12cd34"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/jobs.py", line 42, in run\n'
    '    raise ConnectionError("SMTP server refused the connection")\n'
    "ConnectionError: SMTP server refused the connection"
)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class SendEmail(Job):
    async def run(self, to: str, subject: str = "") -> dict[str, Any]:
        return {"sent": True, "to": to}


class ResizeImage(Job):
    async def run(self, path: str, width: int) -> str:
        return path


def error(message: str = "SMTP server refused the connection", attempt: int = 1, **kw: Any) -> ErrorRecord:
    return ErrorRecord(
        type=kw.pop("type", "ConnectionError"),
        message=message,
        traceback=kw.pop("traceback", TRACEBACK),
        attempt=attempt,
        worker=kw.pop("worker", WORKER),
    )


async def claim(sq: Sidequest, job: JobRecord, worker: str = WORKER) -> JobRecord:
    """Claim ``job`` (it must be the only available job of its queue)."""
    [claimed] = await sq.backend.claim(job.queue, 1, worker, 30)
    assert claimed.id == job.id, "seed helper: another job of this queue was available"
    return claimed


async def start(sq: Sidequest, job: JobRecord) -> JobRecord:
    claimed = await claim(sq, job)
    running = await sq.backend.transition(
        job.id,
        Transition(
            from_states=frozenset({JobState.CLAIMED}),
            to_state=JobState.RUNNING,
            lease_token=claimed.lease_token,
            attempt_delta=1,
            stamp="attempted_at",
        ),
    )
    assert running is not None
    return running


async def finish(
    sq: Sidequest, job: JobRecord, state: JobState, *, result: Any = None, err: ErrorRecord | None = None
) -> JobRecord:
    """Run ``job`` once and end the attempt in ``state`` (completed, failed or waiting = retry)."""
    running = await start(sq, job)
    change = Transition(
        from_states=frozenset({JobState.RUNNING}),
        to_state=state,
        lease_token=running.lease_token,
        stamp={"completed": "completed_at", "failed": "failed_at"}.get(state.value),
        set_result=state == JobState.COMPLETED,
        result=result,
        error=err,
        available_in=0.0 if state == JobState.WAITING else None,
        clear_lease=True,
    )
    record = await sq.backend.transition(job.id, change)
    assert record is not None
    return record


async def raw_job(sq: Sidequest, **fields: Any) -> JobRecord:
    """Insert a job with arbitrary stored fields (e.g. hostile class or queue names)."""
    values: dict[str, Any] = {"queue": "default", "script": "dashboard_seed", "job_class": "SendEmail"}
    values.update(fields)
    [record] = await sq.enqueue_jobs([NewJob(**values)])
    return record


async def seed(sq: Sidequest) -> dict[str, JobRecord]:
    """One job per state (plus a retried-then-failed one), in queues emails/images/reports."""
    jobs: dict[str, JobRecord] = {}
    emails = sq.build(SendEmail).queue("emails")
    done = await emails.enqueue("ada@example.com", subject="Welcome")
    jobs["completed"] = await finish(sq, done, JobState.COMPLETED, result={"sent": True, "id": "m-1"})
    flaky = await emails.max_attempts(2).enqueue("bob@example.com", subject="Invoice")
    await finish(sq, flaky, JobState.WAITING, err=error(attempt=1))
    jobs["failed"] = await finish(sq, flaky, JobState.FAILED, err=error("still refused", attempt=2))
    images = sq.build(ResizeImage).queue("images").timeout(60)
    jobs["running"] = await start(sq, await images.enqueue("/tmp/a.png", 640))
    jobs["claimed"] = await claim(sq, await images.enqueue("/tmp/b.png", 320))
    jobs["canceled"] = await sq.jobs.cancel((await images.enqueue("/tmp/c.png", 128)).id)
    jobs["waiting"] = await sq.build(SendEmail).queue("reports").enqueue("ops@example.com", subject="Daily")
    jobs["scheduled"] = await sq.build(SendEmail).queue("reports").delay(3600).enqueue("later@example.com")
    return jobs


async def csrf_token(client: Any, path: str = "/jobs") -> str:
    """The CSRF token of a page (GET also sets the cookie the token is bound to)."""
    response = await client.get(path)
    match = CSRF_INPUT.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)
