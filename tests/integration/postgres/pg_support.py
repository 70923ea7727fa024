"""Helpers for the PostgreSQL tests: every test gets a schema of its own."""

from __future__ import annotations

import uuid

import asyncpg


def new_schema() -> str:
    return f"sq_test_{uuid.uuid4().hex[:8]}"


def with_schema(url: str, schema: str, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"schema": schema, **params}.items())
    return url + ("&" if "?" in url else "?") + query


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
