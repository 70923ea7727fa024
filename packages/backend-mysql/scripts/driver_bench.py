"""Compare asyncmy and aiomysql on the round trips the backend makes (prints figures).

uv pip install asyncmy aiomysql
python packages/backend-mysql/scripts/driver_bench.py mysql://root@127.0.0.1:3306/test
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

ROUND_TRIPS = 2000
ROWS = 1000


async def connect(driver: str, url: str) -> Any:
    parts = urlsplit(url)
    kwargs: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
        "db": parts.path.lstrip("/") or "test",
        "autocommit": True,
        "charset": "utf8mb4",
    }
    if driver == "asyncmy":
        import asyncmy

        kwargs["database"] = kwargs.pop("db")
        return await asyncmy.connect(**kwargs)
    import aiomysql

    return await aiomysql.connect(**kwargs)


async def timed(label: str, runs: int, body: Callable[[], Awaitable[None]]) -> float:
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        await body()
        samples.append(time.perf_counter() - start)
    best = min(samples)
    print(f"  {label:<44} {runs / best:>10,.0f} /s   (median {statistics.median(samples):.3f} s)")
    return runs / best


async def bench(driver: str, url: str) -> None:
    conn = await connect(driver, url)
    table = f"bench_{uuid.uuid4().hex[:8]}"
    async with conn.cursor() as cur:
        await cur.execute(
            f"CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(16) NOT NULL,"
            " args LONGTEXT NOT NULL, at DATETIME(3) NOT NULL, n INT NOT NULL DEFAULT 0)"
        )
    print(f"{driver}:")
    try:

        async def round_trips() -> None:
            async with conn.cursor() as cur:
                for n in range(ROUND_TRIPS // 3):
                    await cur.execute(
                        f"INSERT INTO {table} (state, args, at) VALUES (%s, %s, UTC_TIMESTAMP(3))",
                        ("waiting", f'["job", {n}]'),
                    )
                    row_id = cur.lastrowid
                    await cur.execute(f"SELECT id, state, args, at, n FROM {table} WHERE id = %s", (row_id,))
                    await cur.fetchall()
                    await cur.execute(
                        f"UPDATE {table} SET state = 'claimed', n = n + 1 WHERE id = %s AND state = %s",
                        (row_id, "waiting"),
                    )

        async def point_selects() -> None:
            async with conn.cursor() as cur:
                for n in range(ROUND_TRIPS):
                    await cur.execute(
                        f"SELECT id, state, args, at, n FROM {table} WHERE id = %s", (n % 50 + 1,)
                    )
                    await cur.fetchall()

        async def claim_transactions() -> None:
            async with conn.cursor() as cur:
                for _ in range(ROUND_TRIPS // 4):
                    await conn.begin()
                    await cur.execute(
                        f"SELECT id, state, args, at, n, UTC_TIMESTAMP(3) FROM {table}"
                        " WHERE state = 'claimed' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
                    )
                    (row,) = await cur.fetchall()
                    await cur.execute(f"UPDATE {table} SET n = n + 1 WHERE id = %s", (row[0],))
                    await conn.commit()

        async def bulk_insert() -> None:
            async with conn.cursor() as cur:
                values = ", ".join(["(%s, %s, UTC_TIMESTAMP(3))"] * ROWS)
                params: list[Any] = []
                for n in range(ROWS):
                    params += ["waiting", f'["bulk", {n}, {{"k": "v"}}]']
                await cur.execute(f"INSERT INTO {table} (state, args, at) VALUES {values}", params)

        async def bulk_select() -> None:
            async with conn.cursor() as cur:
                await cur.execute(f"SELECT id, state, args, at, n FROM {table} ORDER BY id LIMIT {ROWS}")
                await cur.fetchall()

        await timed("insert+select+update (autocommit), stmts", ROUND_TRIPS // 3 * 3, round_trips)
        await timed("point select by id (no fsync), stmts", ROUND_TRIPS, point_selects)
        await timed("claim tx (begin/select/update/commit), tx", ROUND_TRIPS // 4, claim_transactions)
        await timed(f"bulk insert of {ROWS} rows, rows", ROWS, bulk_insert)
        await timed(f"select {ROWS} rows, rows", ROWS * 10, lambda: _times(10, bulk_select))
    finally:
        async with conn.cursor() as cur:
            await cur.execute(f"DROP TABLE {table}")
        conn.close()


async def _times(n: int, body: Callable[[], Awaitable[None]]) -> None:
    for _ in range(n):
        await body()


async def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "mysql://root@127.0.0.1:3306/test"
    for driver in ("asyncmy", "aiomysql", "asyncmy", "aiomysql"):
        await bench(driver, url)


if __name__ == "__main__":
    asyncio.run(main())
