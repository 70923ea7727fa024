"""The jobs of one ``enqueue_many``: every payload checked at once, each job built when read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

from ._records import NewJob, make_new_job

Payload = tuple[Sequence[Any], Mapping[str, Any]]
"""A job's ``(args, kwargs)``, already checked."""
Digest = Callable[[Sequence[Any], Mapping[str, Any]], "str | None"]
"""A job's uniqueness digest from its payload."""


class JobBatch(Sequence[NewJob]):
    """The jobs of one ``enqueue_many``, in order: ``template``'s fields with each job's own
    ``args``, ``kwargs`` and ``unique_digest``.

    The payloads were checked before the batch was made; each ``NewJob`` is built the first
    time it (or one after it) is read, and building cannot fail. Building the jobs of a large
    batch takes about as long as the database takes to write a fifth of them, so a backend
    that writes a batch in parts (PostgreSQL) sends the first part while the rest are still
    being built. Every job holds the template's objects in its shared fields, so a backend
    may take those from ``template`` without reading a job.
    """

    def __init__(self, template: NewJob, payloads: Sequence[Payload], digest: Digest | None = None) -> None:
        self.template = template
        """The fields every job shares (its own ``args``, ``kwargs`` and digest are unused)."""
        self._payloads = payloads
        self._digest = digest
        self._built: list[NewJob] = []

    def __len__(self) -> int:
        return len(self._payloads)

    @overload
    def __getitem__(self, index: int) -> NewJob: ...

    @overload
    def __getitem__(self, index: slice) -> list[NewJob]: ...

    def __getitem__(self, index: int | slice) -> NewJob | list[NewJob]:
        positions = range(len(self._payloads))[index]  # IndexError and negative positions as a list's
        if isinstance(positions, int):
            self._build_until(positions + 1)
            return self._built[positions]
        if positions:
            self._build_until(max(positions[0], positions[-1]) + 1)
        if positions.step == 1:
            return self._built[positions.start : positions.stop]
        return [self._built[position] for position in positions]

    def __iter__(self) -> Iterator[NewJob]:
        self._build_until(len(self._payloads))
        return iter(self._built)

    def _build_until(self, count: int) -> None:
        built, payloads, digest, t = self._built, self._payloads, self._digest, self.template
        while len(built) < count:
            args, kwargs = payloads[len(built)]
            built.append(
                make_new_job(
                    t.queue,
                    t.script,
                    t.job_class,
                    tuple(args),
                    dict(kwargs),
                    t.constructor_args,
                    t.max_attempts,
                    t.available_at,
                    t.available_in,
                    t.timeout,
                    None if digest is None else digest(args, kwargs),
                    t.uniqueness_config,
                    t.retry_delay,
                    t.backoff_strategy,
                )
            )
