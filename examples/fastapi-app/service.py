"""What the HTTP handlers do, without any web framework (so it can be tested on its own)."""

import os
from typing import Any

from jobs import SendWelcomeEmail, sq
from sidequest import JobNotFoundError

RUN_WORKER = os.environ.get("RUN_WORKER") == "1"
"""Also run jobs inside the web process (small deployments); otherwise run `sidequest worker jobs:sq`."""


class InvalidEmail(ValueError):
    """The sign-up request's email is not valid."""


async def startup() -> None:
    """Connect (and create the tables); start running jobs too when RUN_WORKER=1."""
    await (sq.start() if RUN_WORKER else sq.configure())


async def shutdown() -> None:
    await sq.close()  # graceful: jobs running here finish first


async def sign_up(email: str) -> dict[str, Any]:
    """Store the user (not shown) and enqueue the welcome email; answer without waiting for it."""
    if "@" not in email:
        raise InvalidEmail(f"{email!r} is not an email address")
    job = await sq.build(SendWelcomeEmail).queue("emails").max_attempts(5).enqueue(email)
    return {"email": email, "job_id": job.id, "status": job.state.value}


async def job_status(job_id: int) -> dict[str, Any] | None:
    """The job's state and result, or None when there is no such job."""
    try:
        job = await sq.jobs.get(job_id)
    except JobNotFoundError:
        return None
    return {"job_id": job.id, "status": job.state.value, "attempt": job.attempt, "result": job.result}
