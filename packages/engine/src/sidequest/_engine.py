"""``Sidequest``: configuration, lifecycle (configure/start/stop/close) and enqueueing."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from . import _gc
from . import _liveness as liveness
from . import _schedules as schedules_module
from ._backend import Backend, FastPathBackend
from ._backend_support import mask_url
from ._batches import JobBatch
from ._builder import JobBuilder
from ._completions import CompletionBatcher
from ._config import QueueConfig
from ._dispatcher import Dispatcher
from ._durations import Duration, to_seconds
from ._errors import ConfigurationError, JobCanceled, WorkerShutdown
from ._functions import FunctionJob, make_function_job
from ._job import Job
from ._operations import JobOperations, QueueOperations
from ._payload import MAX_PAYLOAD_BYTES
from ._plugins import create_backend
from ._portal import Portal
from ._prefetch import Prefetch, check_prefetch
from ._process_pool import ProcessPool
from ._records import JobRecord, NewJob, QueueRecord, QueueState
from ._resolution import JobResolver
from ._stats import EngineStats

log = logging.getLogger("sidequest")
J = TypeVar("J", bound=Job)
T = TypeVar("T")
DEFAULT_BACKEND = "sqlite:///sidequest.sqlite3"
RUNNERS = ("async", "process")
DEFAULT_GC_THRESHOLD = 5_000
"""Python's young-generation collection threshold while a worker runs (see ``_gc``)."""


class Sidequest:
    """A job queue bound to one backend: enqueue from anywhere, run jobs where started.

    ``await sq.configure()`` connects and migrates (enough to enqueue and to use
    ``sq.jobs``/``sq.queues``); ``await sq.start()`` also runs the dispatcher and the
    maintenance routines; ``await sq.stop()`` shuts down gracefully; ``await sq.close()``
    releases connections. ``async with Sidequest(...) as sq`` configures and closes.
    """

    def __init__(
        self,
        backend: str | Backend = DEFAULT_BACKEND,
        *,
        queues: Iterable[QueueConfig] = (),
        schedules: Iterable[schedules_module.Schedule] = (),
        max_concurrent_jobs: int = 10,
        prefetch: Prefetch = "auto",
        jobs: Iterable[type[Job]] = (),
        poll_interval: Duration | None = None,
        lease: Duration = 30,
        heartbeat_interval: Duration = 5,
        release_expired_interval: Duration = 10,
        cleanup_interval: Duration | None = 3600,
        schedule_interval: Duration = 1,
        cleanup_older_than: Duration = 30 * 86400,
        shutdown_timeout: Duration = 30,
        queue_defaults: Mapping[str, Any] | None = None,
        runner: str = "async",
        processes: int | None = None,
        max_jobs_per_process: int | None = None,
        abort_grace_period: Duration = 0,
        worker_id: str | None = None,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        backend_options: Mapping[str, Any] | None = None,
        migrate: bool = True,
        dashboard: bool | Mapping[str, Any] | None = None,
        gc_threshold: int | None = DEFAULT_GC_THRESHOLD,
    ) -> None:
        if (
            isinstance(max_concurrent_jobs, bool)
            or not isinstance(max_concurrent_jobs, int)
            or max_concurrent_jobs < 1
        ):
            raise ConfigurationError(f"max_concurrent_jobs must be an int ≥ 1, got {max_concurrent_jobs!r}")
        if runner not in RUNNERS:
            raise ConfigurationError(f"unknown runner {runner!r}; available: {', '.join(RUNNERS)}")
        self._backend_spec = backend
        self._backend_options = dict(backend_options or {})
        self._backend: Backend | None = None if isinstance(backend, str) else backend
        self.queue_configs = {q.name: q for q in queues}
        if any(not isinstance(q, QueueConfig) for q in self.queue_configs.values()):
            raise ConfigurationError("queues must be QueueConfig(...) values")
        self.max_concurrent_jobs = max_concurrent_jobs
        self.prefetch = check_prefetch(prefetch)
        if gc_threshold is not None and (
            isinstance(gc_threshold, bool)
            or not isinstance(gc_threshold, int)
            or not 1 <= gc_threshold <= _gc.MAX_THRESHOLD
        ):
            raise ConfigurationError(
                f"gc_threshold must be an int from 1 to {_gc.MAX_THRESHOLD:,} or None, got {gc_threshold!r}"
            )
        self.gc_threshold = gc_threshold
        self.declared_schedules = list(schedules)
        if any(not isinstance(item, schedules_module.Schedule) for item in self.declared_schedules):
            raise ConfigurationError("schedules must be Schedule(...) values")
        self.schedule_interval = schedules_module.interval_seconds(schedule_interval)
        self.resolver = JobResolver(jobs)
        self._poll_interval = None if poll_interval is None else to_seconds(poll_interval, "poll_interval")
        self.lease = to_seconds(lease, "lease")
        self.heartbeat_interval = to_seconds(heartbeat_interval, "heartbeat_interval")
        if not 0 < self.heartbeat_interval < self.lease:
            raise ConfigurationError("heartbeat_interval must be positive and shorter than lease")
        self.release_expired_interval = to_seconds(release_expired_interval, "release_expired_interval")
        self.cleanup_interval = (
            None if cleanup_interval is None else to_seconds(cleanup_interval, "cleanup_interval")
        )
        self.cleanup_older_than = to_seconds(cleanup_older_than, "cleanup_older_than")
        self.shutdown_timeout = to_seconds(shutdown_timeout, "shutdown_timeout")
        defaults = dict(queue_defaults or {})
        unknown = set(defaults) - {"concurrency", "priority", "state"}
        if unknown:
            raise ConfigurationError(f"unknown queue_defaults keys: {', '.join(sorted(unknown))}")
        self.queue_defaults = QueueConfig("*", **defaults).record(QueueRecord(name="*"))
        self.runner = runner
        self.processes = processes or os.cpu_count() or 1
        if self.processes < 1:
            raise ConfigurationError("processes must be ≥ 1")
        if max_jobs_per_process is not None and max_jobs_per_process < 1:
            raise ConfigurationError("max_jobs_per_process must be ≥ 1 or None")
        self.max_jobs_per_process = max_jobs_per_process
        self.abort_grace_period = to_seconds(abort_grace_period, "abort_grace_period")
        self._process_pool: ProcessPool | None = None
        self._batcher: CompletionBatcher | None = None
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.max_payload_bytes = max_payload_bytes
        self._migrate = migrate
        if dashboard is not None and not isinstance(dashboard, bool | Mapping):
            raise ConfigurationError("dashboard must be True/False or a dict of Dashboard options")
        self.dashboard_options: dict[str, Any] | None = (
            dict(dashboard) if isinstance(dashboard, Mapping) else {} if dashboard else None
        )
        self.dashboard: Any = None
        self.only_queues: frozenset[str] | None = None
        self.queue_limits: dict[str, int] = {}
        self.stats = EngineStats()
        self.jobs = JobOperations(self)
        self.queues = QueueOperations(self)
        self.schedules = schedules_module.ScheduleOperations(self)
        self._known_queues: set[str] = set()
        self._configure_lock: asyncio.Lock | None = None
        self._configured = False
        self._dispatcher: Dispatcher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._gc_held = False
        """Whether this engine holds the raised garbage-collector threshold (``_gc``)."""
        self._release_now: asyncio.Event | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._signals_installed = False
        self._portal: Portal | None = None
        self._twin: Sidequest | None = None

    # properties ------------------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        """The backend (created by ``configure``)."""
        if self._backend is None:
            raise ConfigurationError(
                "not configured: call `await sq.configure()` or `await sq.start()` first"
            )
        return self._backend

    @property
    def backend_url(self) -> str:
        """The backend's URL with any password masked (known before connecting)."""
        if isinstance(self._backend_spec, str):
            return mask_url(self._backend_spec)
        return self._backend_spec.url

    @property
    def poll_interval(self) -> float:
        """Seconds between claim passes without a wake-up (1 s with notifications, else 0.1 s)."""
        if self._poll_interval is not None:
            return self._poll_interval
        return 1.0 if self._backend is not None and self._backend.notifies else 0.1

    def runner_for(self, queue: str) -> str:
        """The runner this process uses for ``queue``'s jobs."""
        config = self.queue_configs.get(queue)
        return config.runner if config is not None and config.runner else self.runner

    @property
    def process_pool(self) -> ProcessPool:
        """The pool of worker processes of the process runner (created on first use)."""
        if self._process_pool is None:
            self._process_pool = ProcessPool(
                self.processes,
                max_jobs_per_process=self.max_jobs_per_process,
                abort_grace_period=self.abort_grace_period,
                max_payload_bytes=self.max_payload_bytes,
            )
        return self._process_pool

    @property
    def started(self) -> bool:
        return self._dispatcher is not None

    @property
    def running_jobs(self) -> list[JobRecord]:
        """Records of the jobs this process currently holds."""
        return [ex.record for ex in self._dispatcher.executions.values()] if self._dispatcher else []

    # lifecycle ---------------------------------------------------------------------------------
    async def configure(self) -> Sidequest:
        """Create the backend and migrate the schema (idempotent)."""
        if self._configured:
            return self
        if self._configure_lock is None:
            self._configure_lock = asyncio.Lock()
        async with self._configure_lock:
            if self._configured:
                return self
            if self._backend is None:
                assert isinstance(self._backend_spec, str)
                self._backend = create_backend(self._backend_spec, **self._backend_options)
            if self._migrate:
                await self._backend.migrate()
            self._configured = True
        return self

    async def connected(self) -> Backend:
        """The backend, configuring first if needed."""
        if not self._configured:
            await self.configure()
        return self.backend

    async def start(
        self,
        *,
        queues: Iterable[str] | Mapping[str, int | None] | None = None,
        handle_signals: bool = False,
    ) -> Sidequest:
        """Configure, apply queue settings and start claiming and running jobs.

        ``queues`` restricts this process to those queues (a mapping also sets their local
        concurrency; None keeps the stored one). ``handle_signals`` installs SIGTERM/SIGINT handlers that stop
        gracefully (a second signal releases running jobs at once).
        """
        if self._dispatcher is not None:
            return self
        await self.configure()
        self._set_queue_filter(queues)
        await self._apply_queue_configs()
        await schedules_module.reconcile(self, self.declared_schedules)
        if self._dispatcher is not None:  # another start() finished while this one waited
            return self
        backend = self.backend
        dispatcher = Dispatcher(self)
        self._dispatcher = dispatcher
        self._release_now = asyncio.Event()
        backend.subscribe(dispatcher.wake)
        self._tasks = [
            asyncio.create_task(dispatcher.run(), name="sidequest-dispatcher"),
            asyncio.create_task(liveness.LeaseKeeper(self, dispatcher).run(), name="sidequest-leases"),
            asyncio.create_task(
                liveness.every(
                    self.release_expired_interval,
                    "release of expired leases",
                    lambda: liveness.release_expired(self),
                ),
                name="sidequest-release-expired",
            ),
        ]
        self._tasks.append(
            asyncio.create_task(
                liveness.every(
                    self.schedule_interval, "recurring schedules", lambda: schedules_module.fire_due(self)
                ),
                name="sidequest-schedules",
            )
        )
        if self.cleanup_interval is not None:
            self._tasks.append(
                asyncio.create_task(
                    liveness.every(self.cleanup_interval, "cleanup", lambda: liveness.clean_finished(self)),
                    name="sidequest-cleanup",
                )
            )
        if self.dashboard_options is not None:
            try:
                await self._start_dashboard(self.dashboard_options)
            except BaseException:
                await self.stop()  # a failed start leaves nothing running
                raise
        if handle_signals:
            self._install_signal_handlers()
        if self.gc_threshold is not None:  # last: nothing after it can fail and leave it held
            _gc.hold(self.gc_threshold)
            self._gc_held = True
        log.info("sidequest worker %s started on %s", self.worker_id, backend.url)
        return self

    async def _start_dashboard(self, options: dict[str, Any]) -> None:
        try:
            from sidequest_dashboard import Dashboard
        except ImportError:
            raise ConfigurationError(
                "dashboard=... needs the dashboard package: pip install 'sidequest[dashboard]'"
            ) from None
        self.dashboard = Dashboard(self, **options)
        await self.dashboard.start()

    async def stop(self) -> None:
        """Stop claiming, let running jobs finish for up to ``shutdown_timeout`` seconds,
        then abort the rest and give them back to ``waiting`` (attempt not consumed)."""
        dispatcher = self._dispatcher
        if dispatcher is None:
            return
        try:
            await self._shut_down(dispatcher)
        finally:  # also when the shutdown fails or is cancelled: the setting is not the worker's to keep
            if self._gc_held:
                self._gc_held = False
                _gc.release()

    async def _shut_down(self, dispatcher: Dispatcher) -> None:
        """``stop()``'s steps, in order."""
        if self.dashboard is not None:
            dashboard, self.dashboard = self.dashboard, None
            await dashboard.stop()
        dispatcher.stop_claiming()
        await asyncio.gather(self._tasks[0], return_exceptions=True)
        pending = [ex.task for ex in dispatcher.executions.values() if ex.task is not None]
        if pending:
            log.info("waiting up to %.0f s for %d running job(s)", self.shutdown_timeout, len(pending))
            assert self._release_now is not None
            release = asyncio.ensure_future(self._release_now.wait())
            await _wait_or_release(pending, release, self.shutdown_timeout)
            release.cancel()
        remaining = [ex for ex in dispatcher.executions.values()]
        for execution in remaining:
            execution.abort(WorkerShutdown())
        leftover = [ex.task for ex in remaining if ex.task is not None]
        if leftover:
            await asyncio.wait(leftover, timeout=10)
        if self._batcher is not None:
            await self._batcher.drain()  # completions of finished jobs still being written
        for task in self._tasks[1:]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._process_pool is not None:
            await self._process_pool.close()
            self._process_pool = None
        self.backend.unsubscribe(dispatcher.wake)
        self._remove_signal_handlers()
        self._dispatcher = None
        self._tasks = []
        log.info("sidequest worker %s stopped", self.worker_id)

    def release_now(self) -> None:
        """Stop waiting for running jobs: abort them and give them back (second signal)."""
        if self._release_now is not None:
            self._release_now.set()

    async def close(self) -> None:
        """Stop (if started) and release the backend's connections."""
        await self.stop()
        if self._portal is not None and self._twin is not None:
            twin, self._twin = self._twin, None
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(twin.close(), self._portal.loop))
        if self._backend is not None and self._configured:
            await self._backend.close()
            self._configured = False
            if isinstance(self._backend_spec, str):
                self._backend = None
            self._batcher = None
        self._known_queues.clear()

    def request_stop(self) -> None:
        """Begin a graceful stop (as a first SIGTERM would); a second call releases jobs now."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self.stop())
        else:
            self.release_now()

    async def run_until_stopped(
        self, *, queues: Iterable[str] | Mapping[str, int | None] | None = None
    ) -> None:
        """Start with signal handling and return once a SIGTERM/SIGINT shut it down."""
        await self.start(queues=queues, handle_signals=True)
        try:
            while self._dispatcher is not None:
                if self._stopping is not None:
                    await self._stopping
                    break
                await asyncio.sleep(0.2)
        finally:
            await self.close()

    # synchronous access --------------------------------------------------------------------
    def call_sync(self, action: Callable[[Sidequest], Awaitable[T]]) -> T:
        """Run ``action(engine)`` from synchronous code and return its result.

        The action runs on a private event loop thread with its own connection (a twin of
        this instance with the same configuration), so it is safe from any thread.
        """
        if self._portal is None:
            self._portal = Portal()
        return self._portal.call(self._run_on_twin(action))

    async def _run_on_twin(self, action: Callable[[Sidequest], Awaitable[T]]) -> T:
        if self._twin is None:
            self._twin = Sidequest(
                self._backend_spec,
                queues=self.queue_configs.values(),
                jobs=self.resolver.registered_classes(),
                max_payload_bytes=self.max_payload_bytes,
                backend_options=self._backend_options,
                migrate=self._migrate,
            )
            self._twin.queue_defaults = self.queue_defaults
        return await action(self._twin)

    def close_sync(self) -> None:
        """Release the connection used by the ``*_sync`` methods."""
        if self._portal is not None and self._twin is not None:
            twin, self._twin = self._twin, None
            self._portal.call(twin.close())
        if self._portal is not None:
            self._portal.close()
            self._portal = None

    async def __aenter__(self) -> Sidequest:
        return await self.configure()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # enqueueing ---------------------------------------------------------------------------------
    def job(self, **options: Any) -> Callable[[Callable[..., Any]], type[FunctionJob]]:
        """Decorator turning a function into a job: ``@sq.job(queue="emails", max_attempts=3)``.

        The decorated name becomes a Job class with ``.enqueue(...)``, ``.enqueue_sync(...)``
        and ``.build()``. A first parameter named ``ctx`` receives a ``JobContext``.
        """
        return lambda func: make_function_job(self, func, options)

    def build(self, job_class: type[J]) -> JobBuilder[J]:
        """Start building a job of ``job_class``; finish with ``.enqueue(...)``."""
        self.resolver.name_of(job_class)
        return JobBuilder(self, job_class)

    async def enqueue_jobs(
        self, jobs: Sequence[NewJob], *, skip_duplicates: bool = False, connection: Any = None
    ) -> list[JobRecord]:
        """Insert prepared jobs (creating missing queues first)."""
        backend = await self.connected()
        queues = {jobs.template.queue} if isinstance(jobs, JobBatch) and jobs else {job.queue for job in jobs}
        for name in queues - self._known_queues:
            config = self.queue_configs.get(name, QueueConfig(name))
            await backend.ensure_queue(config.record(_named(self.queue_defaults, name)))
            self._known_queues.add(name)
            self.queues_changed()
        return await backend.enqueue(jobs, skip_duplicates=skip_duplicates, connection=connection)

    # internals ---------------------------------------------------------------------------------
    @property
    def completion_batcher(self) -> CompletionBatcher | None:
        """Batched completions, when the backend offers ``complete_many``."""
        if self._batcher is None and isinstance(self._backend, FastPathBackend):
            self._batcher = CompletionBatcher(self._backend)
        return self._batcher

    async def claim(self, queue: str, limit: int) -> list[JobRecord]:
        """Claim up to ``limit`` ready jobs of ``queue`` for this process (started at once when the
        backend can claim straight into running)."""
        backend = self.backend
        if isinstance(backend, FastPathBackend):
            return await backend.claim_and_start(queue, limit, self.worker_id, self.lease)
        return await backend.claim(queue, limit, self.worker_id, self.lease)

    def queues_changed(self) -> None:
        """Queue settings changed in this process: the dispatcher re-reads them now."""
        if self._dispatcher is not None:
            self._dispatcher.invalidate_queues()

    def abort_local(self, job_id: int) -> None:
        """Abort a job this process is running because it was canceled."""
        if self._dispatcher is not None:
            execution = self._dispatcher.executions.get(job_id)
            if execution is not None:
                execution.abort(JobCanceled())

    def _set_queue_filter(self, queues: Iterable[str] | Mapping[str, int | None] | None) -> None:
        if queues is None:
            self.only_queues, self.queue_limits = None, {}
            return
        if isinstance(queues, Mapping):
            limits: dict[str, int] = {}
            for name, limit in queues.items():
                if limit is None:
                    continue
                if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                    raise ConfigurationError(f"concurrency for queue {name!r} must be an int ≥ 1")
                limits[name] = limit
            self.only_queues, self.queue_limits = frozenset(queues), limits
        else:
            self.only_queues, self.queue_limits = frozenset(queues), {}

    async def _apply_queue_configs(self) -> None:
        backend = self.backend
        for config in self.queue_configs.values():
            stored = await backend.ensure_queue(config.record(_named(self.queue_defaults, config.name)))
            changes: dict[str, Any] = {}
            if config.concurrency is not None and config.concurrency != stored.concurrency:
                changes["concurrency"] = config.concurrency
            if config.priority is not None and config.priority != stored.priority:
                changes["priority"] = config.priority
            if config.state is not None and QueueState(config.state) != stored.state:
                changes["state"] = QueueState(config.state)
            if changes:
                await backend.update_queue(config.name, **changes)
            self._known_queues.add(config.name)

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            name = signal.Signals(signum).name
            if self._stopping is None:
                log.info("received %s: shutting down gracefully (again to release jobs now)", name)
            else:
                log.warning("received %s again: releasing running jobs now", name)
            self.request_stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        self._signals_installed = True

    def _remove_signal_handlers(self) -> None:
        if not self._signals_installed:
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        self._signals_installed = False


def _named(record: QueueRecord, name: str) -> QueueRecord:
    return QueueRecord(
        name=name, concurrency=record.concurrency, priority=record.priority, state=record.state
    )


async def _wait_or_release(
    pending: list[asyncio.Task[None]], release: asyncio.Future[Any], timeout: float
) -> None:
    """Wait until every pending task ends, ``release`` fires or ``timeout`` passes."""
    everything = asyncio.ensure_future(asyncio.wait(pending))
    await asyncio.wait([everything, release], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    everything.cancel()
