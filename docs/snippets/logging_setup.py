"""Logging: the engine logs to "sidequest", jobs to "sidequest.job" with their id, class and attempt."""

import asyncio
import logging

from sidequest import Job, Sidequest


class Import(Job):
    async def run(self, filename: str) -> int:
        self.logger.info("importing %s", filename)  # a LoggerAdapter carrying the job's fields
        return 42


class Collect(logging.Handler):
    """Keeps records, to show the fields a job's log record carries."""

    records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sidequest.job").addHandler(Collect())

    sq = Sidequest("memory://", jobs=[Import])
    await sq.start()
    job = await sq.build(Import).enqueue("contacts.csv")
    await sq.jobs.wait(job.id, timeout=10)
    await sq.close()

    record = Collect.records[0]
    print(record.getMessage())  # [Import#1 attempt 1] importing contacts.csv
    print({key: getattr(record, key) for key in ("job_id", "job_class", "attempt", "queue")})
    assert (record.job_id, record.job_class, record.attempt) == (job.id, "Import", 1)  # type: ignore[attr-defined]


asyncio.run(main())
