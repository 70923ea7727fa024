"""The jobs of the web app, and the Sidequest instance shared by the web process and the worker."""

import asyncio
import os

from sidequest import Job, Sidequest


class SendWelcomeEmail(Job):
    async def run(self, email: str) -> dict[str, str]:
        await asyncio.sleep(0.2)  # stands for the SMTP call
        self.logger.info("welcome email sent to %s", email)
        return {"sent_to": email}


sq = Sidequest(os.environ.get("SIDEQUEST_URL", "sqlite:///fastapi-app.sqlite3"))
