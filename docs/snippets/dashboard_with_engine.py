"""The dashboard served by the engine itself, next to the workers."""

import asyncio
import urllib.request

from sidequest import Job, Sidequest


class Hello(Job):
    async def run(self, name: str) -> str:
        return f"hello {name}"


sq = Sidequest(
    "sqlite:///dashboard.sqlite3",
    jobs=[Hello],
    dashboard={"port": 0},  # Dashboard(...) options; 0 picks a free port, the default is 8678
)


async def main() -> None:
    await sq.start()  # starts the dashboard too
    try:
        job = await sq.build(Hello).enqueue("world")
        await sq.jobs.wait(job.id, timeout=10)
        print("dashboard on", sq.dashboard.url)
        page = await asyncio.to_thread(urllib.request.urlopen, f"{sq.dashboard.url}jobs/{job.id}")
        assert "hello world" in page.read().decode()
    finally:
        await sq.stop()  # stops the dashboard too
        await sq.close()


asyncio.run(main())
