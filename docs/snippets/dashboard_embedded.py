"""The dashboard inside your own asyncio program, without starting any worker."""

import asyncio
import urllib.request

from sidequest import Sidequest
from sidequest_dashboard import Dashboard


async def main() -> None:
    async with Sidequest("sqlite:///dashboard.sqlite3") as sq:
        dashboard = Dashboard(sq, host="127.0.0.1", port=0, base_path="/ops", auth=None, insecure=False)
        await dashboard.start()  # binds, then serves in the running event loop
        try:
            print("dashboard on", dashboard.url)  # http://127.0.0.1:<port>/ops/
            page = await asyncio.to_thread(urllib.request.urlopen, dashboard.url + "queues")
            assert page.status == 200
        finally:
            await dashboard.stop()


asyncio.run(main())
