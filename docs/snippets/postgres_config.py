"""The PostgreSQL backend: URL options, keyword options, your own pool, migrations."""

import asyncio
import os

import asyncpg
from sidequest import Sidequest
from sidequest_postgres.backend import PostgresBackend

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/myapp")

# Options in the URL ...
sq = Sidequest(f"{DATABASE_URL}?schema=shop_jobs&pool_max=20")
# ... or as keyword options (they win over the URL):
sq = Sidequest(DATABASE_URL, backend_options={"schema": "shop_jobs", "pool_max": 20, "notify": False})


async def main() -> None:
    # Share your application's pool: the backend never closes a pool it was given.
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=1, max_size=5)
    backend = PostgresBackend(f"{DATABASE_URL}?schema=shop_jobs", pool=pool)
    async with Sidequest(backend) as shared:
        print("queues:", await shared.queues.list())
    # Migrations can run from a deployment step instead of from every process:
    admin = PostgresBackend(f"{DATABASE_URL}?schema=shop_jobs")
    await admin.migrate()
    print("schema version:", await admin.schema_version())
    await admin.close()
    await pool.close()


asyncio.run(main())
