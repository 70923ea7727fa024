"""Uniqueness: refuse a duplicate while one is alive, or within a time window."""

import asyncio

from sidequest import DuplicateJobError, Job, Sidequest


class RebuildSearchIndex(Job):
    async def run(self) -> str:
        return "rebuilt"


class SendInvoice(Job):
    async def run(self, invoice_id: int) -> str:
        return f"invoice {invoice_id} sent"


async def main() -> None:
    sq = Sidequest("memory://", jobs=[RebuildSearchIndex, SendInvoice])
    await sq.configure()

    # One rebuild at a time, whatever its arguments: a second one is refused while the
    # first is waiting, claimed or running (and allowed again once it finished).
    rebuild = sq.build(RebuildSearchIndex).unique()
    first = await rebuild.enqueue()
    try:
        await rebuild.enqueue()
    except DuplicateJobError as error:
        print(f"refused: {error} (existing job #{error.existing_id})")
        assert error.existing_id == first.id

    # At most one invoice email per invoice and per day, even after it completed.
    invoice = sq.build(SendInvoice).unique(with_args=True, period="day")
    await invoice.enqueue(41)
    await invoice.enqueue(42)  # other arguments: another job
    kept = await invoice.enqueue_many([(41,), (43,)], skip_duplicates=True)  # 41 is left out
    print([job.args for job in kept])
    assert [job.args for job in kept] == [(43,)]
    await sq.close()


asyncio.run(main())
