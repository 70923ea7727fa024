"""The exceptions sidequest raises. Each docstring is the exception's default message."""

from __future__ import annotations


class SidequestError(Exception):
    """A sidequest operation failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())


class ConfigurationError(SidequestError):
    """The configuration is invalid."""


class BackendNotFoundError(ConfigurationError):
    """No installed backend handles this URL scheme."""

    def __init__(self, scheme: str, known: list[str] | None = None) -> None:
        package = {
            "sqlite": "sidequest-sqlite",
            "postgresql": "sidequest-postgres",
            "postgres": "sidequest-postgres",
            "mysql": "sidequest-mysql",
            "mariadb": "sidequest-mysql",
        }.get(scheme)
        hint = (
            f"install it with `pip install {package}` (or `pip install sidequest[{package.split('-')[1]}]`)"
            if package
            else "install a package that registers it under the 'sidequest' entry-point group"
        )
        listed = ", ".join(sorted(known or [])) or "none"
        super().__init__(
            f"no backend is installed for URL scheme {scheme!r}: {hint}. Installed schemes: {listed}."
        )
        self.scheme = scheme


class DuplicateJobError(SidequestError):
    """A job with the same uniqueness key is already stored."""

    def __init__(self, existing_id: int | None, job_class: str = "") -> None:
        where = f"job #{existing_id}" if existing_id is not None else "a job earlier in the same batch"
        super().__init__(f"{job_class or 'job'} is a duplicate of {where} (uniqueness)")
        self.existing_id = existing_id


class InvalidPayloadError(SidequestError):
    """The payload cannot be stored as JSON without loss."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"invalid payload at {path}: {reason}")
        self.path = path
        self.reason = reason


class JobNotFoundError(SidequestError):
    """No job has this id."""

    def __init__(self, job_id: int | None = None) -> None:
        super().__init__(None if job_id is None else f"job #{job_id} not found")
        self.job_id = job_id


class QueueNotFoundError(SidequestError):
    """No queue has this name."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(None if name is None else f"queue {name!r} not found")
        self.name = name


class ScheduleNotFoundError(SidequestError):
    """No schedule has this name."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__(None if name is None else f"schedule {name!r} not found")
        self.name = name


class InvalidStateError(SidequestError):
    """The job's state does not allow this action."""

    def __init__(self, job_id: int, state: str, action: str) -> None:
        super().__init__(f"cannot {action} job #{job_id}: it is {state}")
        self.job_id = job_id
        self.state = state
        self.action = action


class LeaseLostError(SidequestError):
    """The worker no longer holds this job's lease; its write was rejected."""


class JobAborted(SidequestError):
    """The job was aborted."""


class JobTimeout(JobAborted):
    """The job timed out."""

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__(None if timeout is None else f"job timed out after {timeout:g} s")
        self.timeout = timeout


class JobCanceled(JobAborted):
    """The job was canceled."""


class WorkerShutdown(JobAborted):
    """The worker is shutting down; the job goes back to waiting."""


class LeaseExpired(LeaseLostError, JobAborted):
    """The worker lost the job's lease while running it; the run is abandoned unrecorded."""
