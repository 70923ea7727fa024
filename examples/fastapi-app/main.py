"""The FastAPI app (pip install fastapi uvicorn): uvicorn main:app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import service
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await service.startup()
    yield
    await service.shutdown()


app = FastAPI(title="sign-ups", lifespan=lifespan)


class SignUp(BaseModel):
    email: str


@app.post("/signups", status_code=202)
async def sign_up(body: SignUp) -> dict[str, Any]:
    try:
        return await service.sign_up(body.email)
    except service.InvalidEmail as error:
        raise HTTPException(status_code=422, detail=str(error)) from error


@app.get("/jobs/{job_id}")
async def job_status(job_id: int) -> dict[str, Any]:
    status = await service.job_status(job_id)
    if status is None:
        raise HTTPException(status_code=404, detail=f"job #{job_id} not found")
    return status
