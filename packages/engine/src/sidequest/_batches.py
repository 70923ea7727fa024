"""The jobs of one ``enqueue_many``: every payload checked at once, each job built when read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload

from ._records import NewJob


class JobBatch(Sequence[NewJob]):
    """The jobs of one ``enqueue_many``, in order. Their payloads were checked before the
    batch was made; each ``NewJob`` is built the first time it (or one after it) is read,
    and building cannot fail.

    Building the jobs of a large batch takes about as long as the database takes to write
    a fifth of them, so a backend that writes a batch in parts (PostgreSQL) sends the first
    part while the rest are still being built. Every job of a batch shares all its fields
    but ``args``, ``kwargs`` and ``unique_digest`` (the same objects): a backend may take
    the shared ones from the first job.
    """

    def __init__(self, size: int, build: Callable[[int], NewJob]) -> None:
        self._size = size
        self._build = build
        """Builds the job at a position (called once per position, in order)."""
        self._built: list[NewJob] = []

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> NewJob: ...

    @overload
    def __getitem__(self, index: slice) -> list[NewJob]: ...

    def __getitem__(self, index: int | slice) -> NewJob | list[NewJob]:
        positions = range(self._size)[index]  # IndexError and negative positions as a list's
        if isinstance(positions, int):
            self._build_until(positions + 1)
            return self._built[positions]
        if positions:
            self._build_until(max(positions[0], positions[-1]) + 1)
        if positions.step == 1:
            return self._built[positions.start : positions.stop]
        return [self._built[position] for position in positions]

    def __iter__(self) -> Iterator[NewJob]:
        self._build_until(self._size)
        return iter(self._built)

    def _build_until(self, count: int) -> None:
        built, build = self._built, self._build
        while len(built) < count:
            built.append(build(len(built)))
