"""PostgreSQL: enqueue inside your own transaction — the job exists exactly when your data does."""

import asyncio
import os

import asyncpg
from sidequest import Job, Sidequest

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/shop")


class SendReceipt(Job):
    async def run(self, order_id: int) -> str:
        return f"receipt for order {order_id}"


async def main() -> None:
    sq = Sidequest(f"{DATABASE_URL}?schema=shop_jobs", jobs=[SendReceipt])
    await sq.configure()
    conn = await asyncpg.connect(DATABASE_URL)  # your application's own connection (or pool)
    await conn.execute("CREATE TEMP TABLE orders (id serial PRIMARY KEY, total numeric)")

    async with conn.transaction():
        order_id = await conn.fetchval("INSERT INTO orders (total) VALUES (42) RETURNING id")
        job = await sq.build(SendReceipt).enqueue(order_id, connection=conn)
    print(f"order {order_id} committed with job #{job.id}")

    try:
        async with conn.transaction():
            order_id = await conn.fetchval("INSERT INTO orders (total) VALUES (13) RETURNING id")
            doomed = await sq.build(SendReceipt).enqueue(order_id, connection=conn)
            raise RuntimeError("payment declined")  # rolls back the order and its job together
    except RuntimeError:
        pass
    assert (await sq.jobs.get(job.id)).args == (1,)
    assert not await sq.jobs.list(state="waiting", args=[order_id])
    print(f"order {order_id} rolled back: job #{doomed.id} was never stored")
    await conn.close()
    await sq.close()


asyncio.run(main())
