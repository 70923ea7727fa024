"""Start a chain and a fan-out, then follow each to its end by the "next" ids in the results."""

import asyncio

from jobs import Checkout, ImportAlbum, sq


async def follow(first_id: int) -> None:
    """Print each job of a chain, following the "next" id every result carries."""
    job_id: int | None = first_id
    while job_id is not None:
        done = await sq.jobs.wait(job_id, timeout=30)
        result = dict(done.result)
        job_id = result.pop("next")
        print(f"  #{done.id} {done.job_class} ({done.queue}): {done.state} {result}")


async def main() -> None:
    async with sq:
        await sq.start()
        order = await sq.build(Checkout).enqueue(
            1001, [{"price": 12.5, "quantity": 2}, {"price": 5, "quantity": 1}]
        )
        album = await sq.build(ImportAlbum).enqueue("holidays", ["beach.jpg", "dune.jpg", "sunset.jpg"])
        print("chain:")
        await follow(order.id)
        print("fan-out / fan-in:")
        await follow(album.id)


if __name__ == "__main__":
    asyncio.run(main())
