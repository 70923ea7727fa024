"""Function jobs: ``@sq.job(...)`` turns a plain or async function into a Job class."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ._builder import JobBuilder
from ._errors import ConfigurationError
from ._job import Job
from ._records import JobRecord

if TYPE_CHECKING:
    from ._engine import Sidequest


class JobContext:
    """What a function job sees of its run: metadata, logger, abort signal, result helpers.

    Declare it as the function's first parameter (named ``ctx`` or annotated
    ``JobContext``); ``ctx.retry(...)``, ``ctx.fail(...)``, ``ctx.snooze(...)`` and
    ``ctx.complete(...)`` work as on a ``Job`` and only take effect when returned.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.complete = job.complete
        self.fail = job.fail
        self.retry = job.retry
        self.snooze = job.snooze

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)


class FunctionJob(Job):
    """Base of the classes made by ``@sq.job``; call ``.enqueue(...)`` on the decorated name."""

    func: ClassVar[Callable[..., Any]]
    engine: ClassVar[Sidequest]
    options: ClassVar[dict[str, Any]]
    wants_context: ClassVar[bool]

    @classmethod
    def build(cls) -> JobBuilder[Any]:
        """A builder with the decorator's options applied."""
        builder = cls.engine.build(cls)
        for option, value in cls.options.items():
            builder = getattr(builder, option)(value)
        return builder

    @classmethod
    async def enqueue(cls, *args: Any, **kwargs: Any) -> JobRecord:
        return await cls.build().enqueue(*args, **kwargs)

    @classmethod
    def enqueue_sync(cls, *args: Any, **kwargs: Any) -> JobRecord:
        return cls.build().enqueue_sync(*args, **kwargs)


def _takes_context(func: Callable[..., Any]) -> bool:
    params = list(inspect.signature(func).parameters.values())
    if not params:
        return False
    first = params[0]
    annotation = first.annotation
    return first.name in ("ctx", "context") or annotation is JobContext or annotation == "JobContext"


_OPTIONS = ("queue", "max_attempts", "timeout", "retry_delay", "backoff")


def make_function_job(
    engine: Sidequest, func: Callable[..., Any], options: dict[str, Any]
) -> type[FunctionJob]:
    """Build (and register) the Job class standing for ``func``."""
    unknown = set(options) - set(_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"unknown @job options: {', '.join(sorted(unknown))}; use {', '.join(_OPTIONS)}"
        )
    if not callable(func):
        raise ConfigurationError(f"@job decorates a function, got {func!r}")
    wants_context = _takes_context(func)
    if inspect.iscoroutinefunction(func):

        async def run_async(self: FunctionJob, *args: Any, **kwargs: Any) -> Any:
            return await type(self).func(
                *((JobContext(self),) if self.wants_context else ()), *args, **kwargs
            )

        run: Callable[..., Any] = run_async
    else:

        def run_sync(self: FunctionJob, *args: Any, **kwargs: Any) -> Any:
            return type(self).func(*((JobContext(self),) if self.wants_context else ()), *args, **kwargs)

        run = run_sync
    cls: type[FunctionJob] = type(
        func.__name__,
        (FunctionJob,),
        {
            "run": run,
            "func": staticmethod(func),
            "engine": engine,
            "options": dict(options),
            "wants_context": wants_context,
            "__module__": func.__module__,
            "__qualname__": func.__qualname__,
            "__doc__": func.__doc__,
        },
    )
    engine.resolver.register(cls)
    engine.build(cls)  # validates options and importability early
    cls.build()
    return cls
