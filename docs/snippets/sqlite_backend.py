"""The SQLite backend: a file URL, with or without options."""

import asyncio
import tempfile
from pathlib import Path

from sidequest import Sidequest

folder = Path(tempfile.mkdtemp())

# The default backend is sqlite:///sidequest.sqlite3 (a file in the current directory).
default = Sidequest()
print(default.backend_url)

# An absolute path (four slashes), with backend options:
sq = Sidequest(f"sqlite:///{folder / 'jobs.db'}", backend_options={"busy_timeout": 10, "readers": 4})


async def main() -> None:
    async with sq:  # connects and migrates
        print(await sq.queues.list())


asyncio.run(main())
