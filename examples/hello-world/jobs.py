"""The jobs of the hello-world example and the Sidequest instance a worker runs."""

import os

from sidequest import Job, Sidequest


class Greet(Job):
    async def run(self, name: str) -> str:
        self.logger.info("greeting %s", name)
        return f"Hello, {name}!"


sq = Sidequest(os.environ.get("SIDEQUEST_URL", "sqlite:///hello.sqlite3"))
