"""The dashboard mounted in your own ASGI application, under /admin/jobs.

Serve it with ``uvicorn dashboard_mount:app``; with FastAPI the line is the same:
``app.mount("/admin/jobs", create_app(sq, auth=...))``.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sidequest import Sidequest
from sidequest_dashboard import create_app
from starlette.applications import Starlette
from starlette.routing import Mount

sq = Sidequest("sqlite:///dashboard.sqlite3")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await sq.configure()
    yield
    await sq.close()


app = Starlette(
    routes=[Mount("/admin/jobs", app=create_app(sq, auth=("admin", "s3cret")))],
    lifespan=lifespan,
)


async def check() -> None:
    """For this example only: request a page the way a browser would."""
    async with (
        lifespan(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost", auth=("admin", "s3cret")
        ) as client,
    ):
        page = await client.get("/admin/jobs/queues")
        assert page.status_code == 200
        assert 'href="/admin/jobs/jobs"' in page.text  # links follow the mount point
        print("mounted at /admin/jobs")


if __name__ == "__main__":
    asyncio.run(check())
