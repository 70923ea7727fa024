"""URL and option parsing of the PostgreSQL backend (no database needed except where noted)."""

from __future__ import annotations

import asyncpg
import pytest
from pg_support import with_schema
from sidequest import ConfigurationError
from sidequest.backend import Backend, create_backend
from sidequest_postgres._config import channel_name
from sidequest_postgres.backend import PostgresBackend

URL = "postgresql://app:s3cret@db.example:5432/jobs"


def test_url_options_are_parsed_and_password_masked() -> None:
    pg = PostgresBackend(f"{URL}?schema=jobs&pool_max=20&pool_min=2&notify=false&sslmode=disable")
    assert pg.schema == "jobs"
    assert (pg.options.pool_min, pg.options.pool_max) == (2, 20)
    assert pg.notifies is False
    assert "s3cret" not in pg.url and "***" in pg.url
    assert pg.options.dsn == "postgresql://app:s3cret@db.example:5432/jobs?sslmode=disable"
    assert isinstance(pg, Backend)


def test_defaults_and_keyword_overrides() -> None:
    pg = PostgresBackend(URL)
    assert (pg.schema, pg.notifies, pg.options.pool_max) == ("sidequest", True, 10)
    pg = PostgresBackend(f"{URL}?schema=a&pool_max=3", schema="b", pool_max=7, notify=False)
    assert (pg.schema, pg.options.pool_max, pg.notifies) == ("b", 7, False)
    assert PostgresBackend(URL, statement_cache_size=0).options.pool_arguments() == {
        "statement_cache_size": 0
    }


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_registered_for_both_schemes(scheme: str) -> None:
    backend = create_backend(f"{scheme}://u@h/db?schema=s1", notify=False)
    assert isinstance(backend, PostgresBackend)
    assert backend.schema == "s1"


@pytest.mark.parametrize(
    "name",
    [
        "o'brien",
        "a$$b",
        "x.job",
        "new\nline",
        "a" * 64,
        "Upper",
        "1abc",
        "",
        "pg_catalog",
        'qu"ote',
        "back\\slash",
    ],
)
def test_bad_schema_names_are_refused_at_construction(name: str) -> None:
    with pytest.raises(ConfigurationError):
        PostgresBackend(URL, schema=name)


def test_longest_schema_name_gives_a_valid_channel() -> None:
    name = "a" * 63
    pg = PostgresBackend(URL, schema=name)
    assert len(pg.channel) <= 63
    assert channel_name("jobs") == "sidequest_jobs"


@pytest.mark.parametrize(
    "query",
    [
        "schema=x&bogus=1",
        "pool_max=0",
        "pool_max=abc",
        "pool_min=5&pool_max=2",
        "notify=maybe",
        "statement_cache_size=-1",
        "schema=a&schema=b",
        "search_path=public",
    ],
)
def test_bad_query_parameters_are_refused(query: str) -> None:
    with pytest.raises(ConfigurationError):
        PostgresBackend(f"{URL}?{query}")


def test_needs_url_or_pool() -> None:
    with pytest.raises(ConfigurationError):
        PostgresBackend()
    with pytest.raises(ConfigurationError):
        PostgresBackend("mysql://u@h/db")


@pytest.mark.postgres
async def test_from_an_application_pool(postgres_url: str, schema: str) -> None:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=3)
    try:
        pg = PostgresBackend.from_pool(pool, schema=schema, notify=False)
        assert pg.schema == schema and "(pool)" in pg.url
        await pg.migrate()
        assert await pg.schema_version() is not None
        assert await pg.now() is not None
        await pg.close()
        assert await pool.fetchval("SELECT 1") == 1  # the application's pool stays open
    finally:
        await pool.close()


@pytest.mark.postgres
async def test_from_pool_listener_holds_one_pool_connection(postgres_url: str, schema: str) -> None:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=3)
    try:
        pg = PostgresBackend.from_pool(pool, schema=schema)
        await pg.migrate()
        pg.subscribe(lambda: None)
        assert await pg.wait_listening(5)
        assert pg.listener_pid is not None
        await pg.close()
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


@pytest.mark.postgres
async def test_url_with_pool_argument_uses_url_for_listener(postgres_url: str, schema: str) -> None:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=2)
    try:
        pg = PostgresBackend(with_schema(postgres_url, schema), pool=pool)
        await pg.migrate()
        pg.subscribe(lambda: None)
        assert await pg.wait_listening(5)
        pids = {row[0] for row in await pool.fetch("SELECT pid FROM pg_stat_activity")}
        assert pg.listener_pid in pids
        await pg.close()
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()
