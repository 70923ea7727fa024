"""A backend package in one file: the backend class and the plugin hook that registers its scheme."""

import asyncio
from typing import Any

from sidequest import Job, Sidequest
from sidequest.backend import BackendRegistry, MemoryBackend, hookimpl, registry


class MyBackend(MemoryBackend):
    """Stands in for a real backend, which implements every method of
    ``sidequest.backend.Backend`` against its database (see the protocol's docstrings)."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url)  # parse the URL, keep options, connect lazily


@hookimpl
def sidequest_register_backends(registry: BackendRegistry) -> None:
    """Called once at start-up for every installed plugin module (keep it tiny)."""
    registry.register("mydb", "my_backend.backend:MyBackend")  # "module:attribute": imported lazily


class Ping(Job):
    async def run(self) -> str:
        return "pong"


async def main() -> None:
    # Installed packages are found through their entry point; here we register by hand.
    registry().register("mydb", MyBackend, distribution="my-backend")
    sq = Sidequest("mydb://somewhere/jobs", jobs=[Ping])
    await sq.start()
    job = await sq.build(Ping).enqueue()
    print(type(sq.backend).__name__, (await sq.jobs.wait(job.id, timeout=10)).result)
    assert (await sq.jobs.get(job.id)).result == "pong"
    await sq.close()


if __name__ == "__main__":
    asyncio.run(main())
