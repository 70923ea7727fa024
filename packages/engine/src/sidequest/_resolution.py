"""Mapping job classes to stored names (module + qualified name) and back."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ._errors import ConfigurationError
from ._job import Job


class JobResolver:
    """Resolves stored ``(script, job_class)`` pairs to classes: registry first, then import."""

    def __init__(self, jobs: Iterable[type[Job]] = ()) -> None:
        self._by_key: dict[tuple[str, str], type[Job]] = {}
        self._imported: dict[tuple[str, str], type[Job]] = {}
        self._by_name: dict[str, type[Job]] = {}
        for cls in jobs:
            self.register(cls)

    def register(self, cls: type[Job]) -> None:
        """Make ``cls`` resolvable even when it cannot be imported by name."""
        if not (isinstance(cls, type) and issubclass(cls, Job)):
            raise ConfigurationError(f"{cls!r} is not a Job subclass")
        self._by_key[(cls.__module__, cls.__qualname__)] = cls
        self._by_name[cls.__qualname__] = cls

    def registered_classes(self) -> list[type[Job]]:
        return list(self._by_key.values())

    def registered(self, cls: type[Job]) -> bool:
        return self._by_key.get((cls.__module__, cls.__qualname__)) is cls

    def name_of(self, cls: type[Job]) -> tuple[str, str]:
        """``(script, job_class)`` to store for ``cls``; refuses classes a worker cannot import."""
        if not (isinstance(cls, type) and issubclass(cls, Job)):
            raise ConfigurationError(f"{cls!r} is not a Job subclass; jobs extend sidequest.Job")
        if self.registered(cls):
            return cls.__module__, cls.__qualname__
        if "<locals>" in cls.__qualname__:
            raise ConfigurationError(
                f"job class {cls.__qualname__} is defined inside a function, so a worker cannot "
                "import it: move it to module level, or register it with Sidequest(jobs=[...])"
            )
        if cls.__module__ == "__main__":
            raise ConfigurationError(
                f"job class {cls.__qualname__} is defined in __main__, which a worker cannot "
                "import: move it to an importable module, or register it with Sidequest(jobs=[...])"
            )
        return cls.__module__, cls.__qualname__

    def resolve(self, script: str, job_class: str) -> type[Job]:
        """The class for a stored job; raises ``LookupError`` with a clear message."""
        found = self._by_key.get((script, job_class)) or self._imported.get((script, job_class))
        if found is not None:
            return found
        try:
            target: object = importlib.import_module(script)
        except Exception as exc:
            registered = self._by_name.get(job_class)
            if registered is not None:
                return registered
            raise LookupError(
                f"cannot import module {script!r} for job class {job_class!r}: {type(exc).__name__}: {exc}"
            ) from exc
        for part in job_class.split("."):
            target = getattr(target, part, None)
            if target is None:
                raise LookupError(f"module {script!r} has no job class {job_class!r}")
        if not (isinstance(target, type) and issubclass(target, Job)):
            raise LookupError(f"{script}.{job_class} is not a sidequest Job class")
        self._imported[(script, job_class)] = target
        return target
