"""Exercise the service without FastAPI: sign up, run the job, read its status."""

import asyncio

import service
from jobs import sq


async def main() -> None:
    await service.startup()
    try:
        accepted = await service.sign_up("ada@example.com")
        print("POST /signups ->", accepted)
        try:
            await service.sign_up("not-an-email")
        except service.InvalidEmail as error:
            print("POST /signups (bad email) -> 422", error)
        await sq.start()  # the worker's part (`sidequest worker jobs:sq` in production)
        await sq.jobs.wait(accepted["job_id"], timeout=30)
        print(f"GET /jobs/{accepted['job_id']} ->", await service.job_status(accepted["job_id"]))
        print("GET /jobs/999999 ->", await service.job_status(999999))
    finally:
        await service.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
