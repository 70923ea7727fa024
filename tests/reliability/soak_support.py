"""Soak-test support: worker processes, ledgers, a state-history trigger, a throwaway
PostgreSQL cluster, a blackholing TCP proxy, a job feeder and the invariant checks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
from harness import all_jobs
from sidequest import JobRecord, JobState, Sidequest
from sidequest.backend import FINISHED_STATES
from soak_jobs import LEDGER_ENV, Sleep, real_time

HERE = Path(__file__).parent
WORKER_SCRIPT = HERE / "soak_worker.py"
TIMEOUT_MULTIPLIER = float(os.environ.get("SIDEQUEST_SOAK_TIMEOUT_MULTIPLIER", "1"))
"""Scales the waits (not the pass thresholds) on slow machines."""
SOAK_OPTIONS: dict[str, Any] = {
    "lease": 10,
    "heartbeat_interval": 2,
    "release_expired_interval": 2,
    "shutdown_timeout": 20,
}
"""Engine options of the soak runs: short lease so that crash recovery takes seconds."""


# worker processes ------------------------------------------------------------------------------
class SoakWorker:
    """One ``soak_worker.py`` process; its log goes to a file of its own."""

    started = 0
    live: ClassVar[set[SoakWorker]] = set()
    """Started and not yet reaped: killed when the test's database goes (even on failure)."""

    def __init__(
        self,
        url: str,
        concurrency: int,
        ledger: Path,
        *,
        name: str = "worker",
        skew: float = 0.0,
        schedules: Sequence[dict[str, Any]] = (),
        **options: Any,
    ) -> None:
        self.config = {
            "url": url,
            "concurrency": concurrency,
            "options": SOAK_OPTIONS | options,
            "skew": skew,
            "schedules": list(schedules),
        }
        self.ledger = ledger
        self.name = name
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = ledger / "logs" / "unstarted.log"
        self.started_at = 0.0

    async def start(self) -> SoakWorker:
        SoakWorker.started += 1
        logs = self.ledger / "logs"
        logs.mkdir(exist_ok=True)
        self.log_path = logs / f"{self.name}-{SoakWorker.started}.log"
        env = dict(os.environ, **{LEDGER_ENV: str(self.ledger), "PYTHONPATH": str(HERE)})
        with self.log_path.open("w") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER_SCRIPT),
                json.dumps(self.config),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        SoakWorker.live.add(self)
        assert line.strip() == b"ready", f"worker did not start: {line!r} {self.log_path.read_text()[-2000:]}"
        self.started_at = real_time()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill(self) -> float:
        """SIGKILL; returns the real time of the kill."""
        at = real_time()
        os.kill(self.pid, signal.SIGKILL)
        return at

    async def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout)
        SoakWorker.live.discard(self)
        return code

    @classmethod
    async def reap(cls) -> int:
        """SIGKILL every worker still running (a failed test leaves no process behind)."""
        leftovers = [w for w in cls.live if w.alive]
        for worker in leftovers:
            worker.kill()
        for worker in list(cls.live):
            with contextlib.suppress(TimeoutError, ProcessLookupError):
                await worker.wait(10)
        cls.live.clear()
        return len(leftovers)

    async def stop(self, timeout: float = 60) -> dict[str, Any]:
        """SIGTERM and wait; returns the stats a clean exit printed (or the exit code)."""
        assert self.process is not None and self.process.stdout is not None
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        out = await asyncio.wait_for(self.process.stdout.read(), timeout)
        code = await self.wait(timeout)
        for line in out.decode().splitlines():
            if line.startswith("{"):
                return dict(json.loads(line)) | {"returncode": code}
        return {"returncode": code}


async def stop_all(workers: Sequence[SoakWorker], timeout: float = 60) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(w.stop(timeout) for w in workers)))


# ledger and logs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    kind: str
    job_id: int
    attempt: int
    pid: int
    at: float
    token: str


def read_events(ledger: Path) -> list[Event]:
    """Every ledger event of every process, in time order."""
    events: list[Event] = []
    for path in ledger.glob("soak-*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 6:
                kind, job_id, attempt, pid, at, token = parts
                events.append(Event(kind, int(job_id), int(attempt), int(pid), float(at), token))
    events.sort(key=lambda e: e.at)
    return events


def starts_by_job(events: Sequence[Event]) -> dict[int, list[Event]]:
    found: dict[int, list[Event]] = defaultdict(list)
    for event in events:
        if event.kind == "start":
            found[event.job_id].append(event)
    return found


@dataclass(frozen=True)
class LogLine:
    at: float
    pid: int
    level: str
    logger: str
    message: str


_LOG_LINE = re.compile(r"^(\d+\.\d+) (\d+) ([A-Z]+) (\S+) (.*)$")


def read_logs(ledger: Path) -> list[LogLine]:
    """The log records of every worker (traceback lines are folded into their record)."""
    lines: list[LogLine] = []
    for path in (ledger / "logs").glob("*.log"):
        for text in path.read_text(errors="replace").splitlines():
            match = _LOG_LINE.match(text)
            if match:
                at, pid, level, logger, message = match.groups()
                lines.append(LogLine(float(at), int(pid), level, logger, message))
    lines.sort(key=lambda line: line.at)
    return lines


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def report(title: str, figures: dict[str, Any]) -> None:
    """Print the figures of a run (``pytest -s`` shows them) and append them to a JSON-lines
    file when ``SIDEQUEST_SOAK_REPORT`` names one."""
    print(f"\n[soak] {title}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    target = os.environ.get("SIDEQUEST_SOAK_REPORT")
    if target:
        with open(target, "a") as handle:
            handle.write(json.dumps({"test": title, "at": time.time(), **figures}, default=str) + "\n")


# databases: a fresh schema or file with a state-history trigger ------------------------------
@dataclass(frozen=True)
class Transition:
    """One state change of a job, recorded by the history trigger (database clock)."""

    job_id: int
    old_state: str
    new_state: str
    old_token: str | None
    new_token: str | None
    attempt: int
    claimed_by: str | None
    result_token: str | None
    at: float


class SoakDatabase:
    """A fresh database for one run: a PostgreSQL schema or an SQLite file."""

    def __init__(self, kind: str, url: str, *, base: str | None = None, schema: str | None = None) -> None:
        self.kind = kind
        self.url = url
        self.base = base
        self.schema = schema

    @classmethod
    def postgres(cls, base: str, **params: str) -> SoakDatabase:
        schema = f"soak_{uuid.uuid4().hex[:10]}"
        query = "&".join(f"{k}={v}" for k, v in ({"schema": schema} | params).items())
        return cls("postgres", f"{base}?{query}", base=base, schema=schema)

    @classmethod
    def sqlite(cls, directory: Path) -> SoakDatabase:
        return cls("sqlite", f"sqlite:///{directory / 'soak.sqlite3'}")

    @property
    def path(self) -> str:
        return self.url.removeprefix("sqlite:///")

    async def connect(self) -> asyncpg.Connection[Any]:
        assert self.base is not None
        return await asyncpg.connect(self.base)

    async def install_history(self) -> None:
        """Record every state change of every job (call after the schema was migrated)."""
        if self.kind == "postgres":
            s = f'"{self.schema}"'
            conn = await self.connect()
            try:
                await conn.execute(
                    f"""
CREATE TABLE {s}.soak_history (
    seq bigserial PRIMARY KEY, job_id bigint NOT NULL, old_state text, new_state text,
    old_token text, new_token text, attempt int, claimed_by text, result_token text,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION {s}.soak_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {s}.soak_history
        (job_id, old_state, new_state, old_token, new_token, attempt, claimed_by, result_token)
    VALUES (NEW.id, OLD.state, NEW.state, OLD.lease_token::text, NEW.lease_token::text, NEW.attempt,
            NEW.claimed_by, CASE WHEN jsonb_typeof(NEW.result) = 'object' THEN NEW.result->>'token' END);
    RETURN NULL;
END $$;
CREATE TRIGGER soak_track AFTER UPDATE ON {s}.sidequest_jobs FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION {s}.soak_track();"""
                )
            finally:
                await conn.close()
        else:
            with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as lite, lite:
                lite.executescript(
                    """
CREATE TABLE soak_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL, old_state TEXT, new_state TEXT,
    old_token TEXT, new_token TEXT, attempt INTEGER, claimed_by TEXT, result_token TEXT, at INTEGER);
CREATE TRIGGER soak_track AFTER UPDATE OF state ON sidequest_jobs
WHEN OLD.state IS NOT NEW.state BEGIN
    INSERT INTO soak_history
        (job_id, old_state, new_state, old_token, new_token, attempt, claimed_by, result_token, at)
    VALUES (NEW.id, OLD.state, NEW.state, OLD.lease_token, NEW.lease_token, NEW.attempt, NEW.claimed_by,
            CASE WHEN json_valid(NEW.result) AND json_type(NEW.result) = 'object'
                 THEN json_extract(NEW.result, '$.token') END,
            CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER));
END;"""
                )

    async def history(self) -> list[Transition]:
        query = (
            "SELECT job_id, old_state, new_state, old_token, new_token, attempt, claimed_by, result_token,"
            " {at} FROM {table} ORDER BY seq"
        )
        if self.kind == "postgres":
            conn = await self.connect()
            try:
                rows = await conn.fetch(
                    query.format(at="extract(epoch FROM at)::float8", table=f'"{self.schema}".soak_history')
                )
            finally:
                await conn.close()
            return [Transition(*row) for row in rows]
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as lite:
            found = lite.execute(query.format(at="at / 1000.0", table="soak_history")).fetchall()
        return [Transition(*row) for row in found]

    async def drop(self) -> None:
        if self.kind == "postgres":
            conn = await self.connect()
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            finally:
                await conn.close()


@contextlib.asynccontextmanager
async def soak_database(
    kind: str, tmp_path: Path, postgres_base: str | None, **params: str
) -> AsyncIterator[tuple[SoakDatabase, Sidequest]]:
    """A migrated database with the history trigger, and a configure-only client on it."""
    if kind == "postgres":
        assert postgres_base is not None
        db = SoakDatabase.postgres(postgres_base, **params)
    else:
        db = SoakDatabase.sqlite(tmp_path)
    client = Sidequest(db.url, jobs=[Sleep])
    await client.configure()
    await db.install_history()
    try:
        yield db, client
    finally:
        await SoakWorker.reap()
        await client.close()
        await db.drop()


# invariants ----------------------------------------------------------------------------------
@dataclass
class Verdict:
    stored: dict[int, JobRecord]
    history: list[Transition]
    events: list[Event]
    executions: Counter[int] = field(default_factory=Counter)
    completions: Counter[int] = field(default_factory=Counter)


async def verify(
    client: Sidequest,
    db: SoakDatabase,
    ids: Sequence[int],
    ledger: Path,
    *,
    clean_stop: bool = True,
    hits: Callable[[int, list[Event]], int] | None = None,
) -> Verdict:
    """I1 no loss (every id terminal), I2 completion recorded once, I3 bounded executions,
    I4 no zombies after a clean stop, I5 fenced completions, I6 monotonic terminal states.

    ``hits(job_id, starts)``: how many kills hit the job (I3 allows 1 + that many runs).
    """
    stored = await all_jobs(client)
    history = await db.history()
    events = read_events(ledger)
    starts = starts_by_job(events)
    verdict = Verdict(stored, history, events)
    verdict.executions = Counter({job_id: len(found) for job_id, found in starts.items()})
    missing = [i for i in ids if i not in stored]
    assert not missing, f"I1: {len(missing)} job(s) lost from the table: {missing[:20]}"
    unfinished = [i for i in ids if stored[i].state not in FINISHED_STATES]
    assert not unfinished, (
        f"I1: {len(unfinished)} job(s) not terminal: {[(i, stored[i].state.value) for i in unfinished[:20]]}"
    )
    for change in history:
        if change.new_state == JobState.COMPLETED:
            verdict.completions[change.job_id] += 1
    twice = [i for i, n in verdict.completions.items() if n > 1]
    assert not twice, f"I2: {len(twice)} job(s) completed more than once: {twice[:20]}"
    wrong = [i for i in ids if (stored[i].state == JobState.COMPLETED) != (verdict.completions[i] == 1)]
    assert not wrong, f"I2: stored state and completion history disagree for {wrong[:20]}"
    for job_id in ids:
        runs = verdict.executions[job_id]
        job = stored[job_id]
        assert runs <= job.max_attempts, (
            f"I3: job #{job_id} ran {runs} times (max_attempts {job.max_attempts})"
        )
        if hits is not None:
            allowed = 1 + hits(job_id, starts.get(job_id, []))
            assert runs <= allowed, (
                f"I3: job #{job_id} ran {runs} times but only {allowed - 1} kill(s) hit it"
            )
        if job.state == JobState.COMPLETED:
            assert runs >= 1, f"job #{job_id} completed without running"
    if clean_stop:
        zombies = [j.id for j in stored.values() if j.state in (JobState.CLAIMED, JobState.RUNNING)]
        assert not zombies, f"I4: claimed/running after a clean stop: {zombies[:20]}"
    unfenced = [
        c.job_id
        for c in history
        if c.new_state == JobState.COMPLETED and c.result_token is not None and c.result_token != c.old_token
    ]
    assert not unfenced, f"I5: completions written with a stale lease token: {unfenced[:20]}"
    reopened = [
        (c.job_id, c.old_state, c.new_state)
        for c in history
        if c.old_state in FINISHED_STATES and c.new_state not in FINISHED_STATES
    ]
    assert not reopened, f"I6: terminal → non-terminal transitions: {reopened[:20]}"
    return verdict


async def wait_terminal(client: Sidequest, ids: Sequence[int], timeout: float) -> float:
    """Wait until no job is waiting/claimed/running; returns the real time it happened."""
    deadline = time.monotonic() + timeout * TIMEOUT_MULTIPLIER
    while True:
        try:
            counts = await client.jobs.count()
            if counts.waiting + counts.claimed + counts.running == 0 and counts.total >= len(ids):
                return real_time()
        except Exception:  # the database may be restarting: ask again
            pass
        if time.monotonic() > deadline:
            counts = await client.jobs.count()
            raise AssertionError(f"jobs not terminal after {timeout} s: {counts.as_dict()}")
        await asyncio.sleep(0.2)


# feeding work ------------------------------------------------------------------------------
class Feeder:
    """Enqueues ``Sleep`` jobs of random length, recording their ids client-side.

    With ``backlog``: tops the waiting count up to it every ``interval``. With ``rate``:
    inserts that many jobs per second. Connection errors are retried for ``retry_for``
    seconds; an insert still failing after that counts in ``failures``.
    """

    def __init__(
        self,
        client: Sidequest,
        *,
        durations: tuple[float, float],
        seed: int,
        backlog: int | None = None,
        rate: float | None = None,
        interval: float = 0.25,
        retry_for: float = 5.0,
        max_attempts: int = 25,
        limit: int | None = None,
    ) -> None:
        self.client = client
        self.durations = durations
        self.random = random.Random(seed)
        self.backlog = backlog
        self.rate = rate
        self.interval = interval
        self.retry_for = retry_for
        self.max_attempts = max_attempts
        self.limit = limit
        self.ids: list[int] = []
        self.failures = 0
        self.retries = 0
        self.longest_retry = 0.0
        self.error_types: Counter[str] = Counter()
        """Exceptions the inserts raised (and were retried), by type name."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Feeder:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def insert(self, count: int) -> None:
        if self.limit is not None:
            count = min(count, self.limit - len(self.ids))
        if count <= 0:
            return
        low, high = self.durations
        args = [(round(self.random.uniform(low, high), 3),) for _ in range(count)]
        builder = self.client.build(Sleep).max_attempts(self.max_attempts)
        first = time.monotonic()
        while True:
            try:
                records = await builder.enqueue_many(args)
            except Exception as exc:  # an application retries whatever a lost connection raises
                self.error_types[type(exc).__name__] += 1
                waited = time.monotonic() - first
                if waited > self.retry_for:
                    self.failures += 1
                    return
                self.retries += 1
                await asyncio.sleep(0.1)
                continue
            self.longest_retry = max(self.longest_retry, time.monotonic() - first)
            self.ids.extend(r.id for r in records)
            return

    async def _run(self) -> None:
        while True:
            if self.backlog is not None:
                try:
                    waiting = (await self.client.jobs.count()).waiting
                except Exception:
                    waiting = self.backlog
                if waiting < self.backlog:
                    await self.insert(self.backlog - waiting)
            elif self.rate is not None:
                await self.insert(max(1, round(self.rate * self.interval)))
            await asyncio.sleep(self.interval)


# a throwaway PostgreSQL cluster --------------------------------------------------------------
def cluster_unavailable() -> str | None:
    """Why a throwaway cluster cannot be made here (None when it can)."""
    for tool in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_lsclusters"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian postgresql-common is needed for a throwaway cluster)"
    if os.geteuid() != 0:
        return "pg_createcluster needs root"
    if not postgres_version():
        return "no PostgreSQL server version installed under /usr/lib/postgresql"
    return None


def postgres_version() -> str | None:
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin" / "postgres").exists()),
        key=lambda v: int(v) if v.isdigit() else 0,
    )
    return versions[-1] if versions else None


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
    return done.stdout


class Cluster:
    """A PostgreSQL cluster of our own (``pg_createcluster``), dropped at the end."""

    def __init__(self, name: str = "soak", port: int = 5433) -> None:
        version = postgres_version()
        assert version is not None
        self.version = version
        self.name = name
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/soak"

    def create(self) -> Cluster:
        existing = _run("pg_lsclusters", "-h")
        if any(line.split()[:2] == [self.version, self.name] for line in existing.splitlines()):
            _run("pg_dropcluster", "--stop", self.version, self.name)  # a leftover of an earlier run
        while not port_free(self.port):
            self.port += 1
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/soak"
        _run(
            "pg_createcluster", self.version, self.name, "--port", str(self.port), "--start-conf=manual",
            "-o", "max_connections=300",
            "--", "--auth=trust",
        )  # fmt: skip
        try:
            self.start()
        except RuntimeError:
            self.drop()
            raise
        _run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", "CREATE DATABASE soak")
        return self

    def start(self) -> None:
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")

    def restart(self) -> float:
        """Restart (fast shutdown: sessions are terminated); returns when it accepts connections."""
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "restart")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                subprocess.run(
                    ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
                ).returncode
                == 0
            ):
                return real_time()
            time.sleep(0.05)
        raise AssertionError("the cluster did not come back")

    def drop(self) -> None:
        with contextlib.suppress(RuntimeError):
            _run("pg_dropcluster", "--stop", self.version, self.name)


@contextlib.contextmanager
def own_cluster() -> Iterator[Cluster]:
    reason = cluster_unavailable()
    if reason is not None:
        import pytest

        pytest.skip(reason)
    cluster = Cluster().create()
    try:
        yield cluster
    finally:
        cluster.drop()


# a blackholing TCP proxy --------------------------------------------------------------------
class BlackholeProxy:
    """Forwards loopback TCP connections to ``port``; ``blackhole()`` stops forwarding in
    both directions without closing anything (data is held, as a network that drops packets
    holds them in TCP retransmissions) until ``heal()``."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> BlackholeProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def blackhole(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._open.wait()
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except Exception:
            writer.close()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await source.read(65536)
                await self._open.wait()
                if not data:
                    break
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                sink.close()


# PostgreSQL sessions -----------------------------------------------------------------------
async def terminate_backends(base: str, application_name: str) -> int:
    """``pg_terminate_backend`` on every session of ``application_name`` (and only those)."""
    conn = await asyncpg.connect(base)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = $1 AND pid <> pg_backend_pid()",
            application_name,
        )
    finally:
        await conn.close()
    return sum(1 for row in rows if row[0])
