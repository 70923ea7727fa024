"""Helpers for the MySQL/MariaDB tests: the server URL, and a database of its own per test or module."""

from __future__ import annotations

import asyncio
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncmy
import pytest

URL_ENV = "SIDEQUEST_TEST_MYSQL_URL"
REQUIRE_ENV = "SIDEQUEST_REQUIRE_MYSQL"
_reachable: dict[str, str | None] = {}


def mysql_url_or_skip() -> str:
    """The server URL from ``SIDEQUEST_TEST_MYSQL_URL``; skip (or fail when required) otherwise."""
    url = os.environ.get(URL_ENV)
    if not url:
        _unavailable(f"set {URL_ENV} (e.g. mysql://root@127.0.0.1:3306/test) to run MySQL tests")
    assert url is not None
    if url not in _reachable:
        _reachable[url] = asyncio.run(_probe(url))
    problem = _reachable[url]
    if problem is not None:
        _unavailable(f"MySQL server at {url} is unreachable: {problem}")
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} (and {REQUIRE_ENV} says MySQL tests must run)")
    pytest.skip(reason)


def connect_arguments(url: str, database: str | None = None) -> dict[str, object]:
    parts = urlsplit(url)
    arguments: dict[str, object] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
        "autocommit": True,
        "connect_timeout": 5,
    }
    if database:
        arguments["database"] = database
    return arguments


async def _probe(url: str) -> str | None:
    try:
        conn = await asyncio.wait_for(asyncmy.connect(**connect_arguments(url)), 10)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    conn.close()
    return None


def new_database() -> str:
    return f"sq_test_{uuid.uuid4().hex[:8]}"


def with_database(url: str, database: str, **params: object) -> str:
    parts = urlsplit(url)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return urlunsplit(parts._replace(path=f"/{database}", query=query))


async def execute(
    url: str, sql: str, args: object = None, database: str | None = None
) -> list[tuple[object, ...]]:
    conn = await asyncmy.connect(**connect_arguments(url, database))
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())
    finally:
        await conn.ensure_closed()


async def create_database(url: str, database: str) -> None:
    await execute(url, f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")


async def drop_database(url: str, database: str) -> None:
    await execute(url, f"DROP DATABASE IF EXISTS `{database}`")
