"""Enqueue from synchronous code (Flask, Django views, scripts): no event loop needed."""

import tempfile
from pathlib import Path

from sidequest import Job, Sidequest


class Thumbnail(Job):
    def run(self, image_id: int) -> str:
        return f"thumb-{image_id}"


database = Path(tempfile.mkdtemp()) / "app.sqlite3"
sq = Sidequest(f"sqlite:///{database}", jobs=[Thumbnail])


def upload_view(image_id: int) -> int:  # e.g. a Flask or Django view
    record = sq.build(Thumbnail).queue("images").enqueue_sync(image_id)
    return record.id


job_id = upload_view(42)
print(sq.jobs.get_sync(job_id).state)  # waiting: a worker (`sidequest worker app:sq`) will run it
sq.close_sync()
