"""LISTEN/NOTIFY wake-ups (with reconnection) and enqueueing inside the application's transaction."""

from __future__ import annotations

import asyncio

import asyncpg
import pg_jobs
import pytest
from pg_support import Wakes, enqueue_rolled_back, listening
from sidequest import Sidequest
from sidequest.backend import JobFilter, NewJob
from sidequest_postgres.backend import PostgresBackend

pytestmark = pytest.mark.postgres


def job(queue: str = "default") -> NewJob:
    return NewJob(queue=queue, script="pg_jobs", job_class="Echo")


async def test_enqueue_elsewhere_wakes_a_subscriber(backend: PostgresBackend, other: PostgresBackend) -> None:
    wakes = await listening(backend)
    await other.enqueue([job()])
    assert await wakes.wait(3)


async def test_listener_relistens_after_its_connection_is_killed(
    backend: PostgresBackend, other: PostgresBackend, conn: asyncpg.Connection
) -> None:
    wakes = await listening(backend)
    pid = backend.listener_pid
    assert pid is not None
    assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    for _ in range(100):
        if backend.listener_pid not in (None, pid):
            break
        await asyncio.sleep(0.05)
    assert backend.listener_pid not in (None, pid)
    wakes.reset()
    await other.enqueue([job()])
    assert await wakes.wait(5)


async def test_self_probe_keeps_a_healthy_listener_and_does_not_wake(schema_url: str) -> None:
    pg = PostgresBackend(schema_url, pool_max=2, probe_interval=0.1)
    try:
        await pg.migrate()
        wakes = await listening(pg)
        pid = pg.listener_pid
        await asyncio.sleep(0.6)  # several probes
        assert wakes.count == 0
        assert pg.listener_pid == pid
        assert pg._listener is not None and pg._listener.reconnects == 0
    finally:
        await pg.close()


async def test_notify_false_neither_listens_nor_notifies(
    schema_url: str, backend: PostgresBackend, conn: asyncpg.Connection
) -> None:
    quiet = PostgresBackend(schema_url, pool_max=2, notify=False)
    heard: list[str] = []
    await conn.add_listener(quiet.channel, lambda *args: heard.append(args[3]))
    try:
        wakes = Wakes()
        quiet.subscribe(wakes)
        assert quiet.listener_pid is None and not await quiet.wait_listening(0.1)
        await backend.enqueue([job()])  # another process: nobody tells us (polling finds it)
        await asyncio.sleep(0.3)
        assert wakes.count == 0
        heard.clear()
        await quiet.enqueue([job()])  # our own enqueue still wakes this process
        assert wakes.count == 1
        await asyncio.sleep(0.3)
        assert heard == []  # and sent no NOTIFY
    finally:
        await quiet.close()


async def test_transactional_enqueue_rolled_back(
    postgres_url: str, backend: PostgresBackend, other: PostgresBackend
) -> None:
    wakes = await listening(other)
    await enqueue_rolled_back(postgres_url, backend, [job()])
    assert not await wakes.wait(0.5)
    assert await backend.list_jobs(JobFilter()) == []


async def test_transactional_enqueue_committed(
    postgres_url: str, backend: PostgresBackend, other: PostgresBackend
) -> None:
    wakes = await listening(other)
    app = await asyncpg.connect(postgres_url)
    try:
        async with app.transaction():
            (record,) = await backend.enqueue([job()], connection=app)
            await asyncio.sleep(0.3)
            assert wakes.count == 0  # NOTIFY is delivered at commit, not before
    finally:
        await app.close()
    assert await wakes.wait(3)
    stored = await backend.get_job(record.id)
    assert stored is not None and stored.id == record.id


async def test_engine_enqueue_joins_the_application_transaction(schema_url: str, postgres_url: str) -> None:
    sq = Sidequest(schema_url, poll_interval=5, backend_options={"pool_max": 3})
    await sq.start()
    try:
        app = await asyncpg.connect(postgres_url)
        try:
            transaction = app.transaction()
            await transaction.start()
            await sq.build(pg_jobs.Echo).enqueue("lost", connection=app)
            await transaction.rollback()  # the application's transaction fails
            assert await sq.jobs.list() == []
            async with app.transaction():
                record = await sq.build(pg_jobs.Echo).enqueue("kept", connection=app)
        finally:
            await app.close()
        # poll_interval is 5 s: finishing well before means the NOTIFY woke the dispatcher
        done = await sq.jobs.wait(record.id, timeout=3)
        assert done.result == {"args": ["kept"], "kwargs": {}, "attempt": 1}
    finally:
        await sq.close()


async def test_connection_must_be_asyncpg(backend: PostgresBackend) -> None:
    from sidequest import ConfigurationError

    with pytest.raises(ConfigurationError):
        await backend.enqueue([job()], connection=object())


class SilencingProxy:
    """A TCP proxy to PostgreSQL whose existing connections can be made silent (half-open)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._silenced: list[asyncio.Event] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def silence_existing(self) -> None:
        """Stop forwarding on every current connection without closing it (no FIN, no RST)."""
        for event in self._silenced:
            event.set()

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silenced = asyncio.Event()
        self._silenced.append(silenced)
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                if silenced.is_set():
                    continue  # swallowed: the peer never hears back
                dst.write(data)
                await dst.drain()
            if not silenced.is_set():
                dst.close()  # pass the end of the stream on

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True)


async def test_listener_recovers_from_a_silent_half_open_connection(
    postgres_url: str, schema: str, backend: PostgresBackend
) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(postgres_url)
    proxy = SilencingProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    proxied = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}").geturl()
    watched = PostgresBackend(proxied, schema=schema, pool_min=0, pool_max=1, probe_interval=0.2)
    try:
        wakes = await listening(watched)
        assert watched._listener is not None
        proxy.silence_existing()  # the LISTEN connection stays open but nothing gets through
        await backend.enqueue([job()])
        assert not await wakes.wait(0.1)
        for _ in range(100):  # the probe notices within probe_interval + its timeout
            if watched._listener.reconnects:
                break
            await asyncio.sleep(0.05)
        assert watched._listener.reconnects == 1
        assert await watched.wait_listening(5)
        wakes.reset()
        await backend.enqueue([job()])
        assert await wakes.wait(3)
    finally:
        await watched.close()
        await proxy.close()
