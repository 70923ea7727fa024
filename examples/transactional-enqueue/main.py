"""Commit an order with its job, roll back another, then run the committed job."""

import asyncio
import os

import asyncpg
from jobs import SendReceipt
from sidequest import JobState, Sidequest

DATABASE_URL = os.environ.get("SIDEQUEST_URL", "")
SCHEMA = "tx_example"


async def main() -> None:
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.orders (id serial PRIMARY KEY, total int)")
    sq = Sidequest(f"{DATABASE_URL}?schema={SCHEMA}", poll_interval=0.1)
    await sq.configure()
    try:
        async with pool.acquire() as conn, conn.transaction():
            order = await conn.fetchval(f"INSERT INTO {SCHEMA}.orders (total) VALUES (42) RETURNING id")
            committed = await sq.build(SendReceipt).enqueue(order, connection=conn)
        print(f"committed order {order} with job #{committed.id}")

        try:
            async with pool.acquire() as conn, conn.transaction():
                order = await conn.fetchval(f"INSERT INTO {SCHEMA}.orders (total) VALUES (13) RETURNING id")
                await sq.build(SendReceipt).enqueue(order, connection=conn)
                raise RuntimeError("payment declined")
        except RuntimeError as exc:
            print(f"rolled back order {order}: {exc}")
        leftovers = await sq.jobs.list(args=[order])
        print(f"jobs for the rolled-back order: {len(leftovers)}")

        await sq.start()
        record = await sq.jobs.wait(committed.id, timeout=30)
        assert record.state == JobState.COMPLETED
        print(f"job #{record.id}: {record.result}")
    finally:
        await sq.close()
        async with pool.acquire() as conn:
            await conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        await pool.close()


if __name__ == "__main__":
    if not DATABASE_URL.startswith(("postgresql://", "postgres://")):
        raise SystemExit(
            "set SIDEQUEST_URL to a PostgreSQL database, e.g. postgresql://postgres@127.0.0.1:5432/mydb"
        )
    asyncio.run(main())
