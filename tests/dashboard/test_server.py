"""``Dashboard`` (uvicorn in the running loop), the loopback rule and ``serve``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sidequest import ConfigurationError, Sidequest
from sidequest_dashboard import Dashboard, parse_auth, serve


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com", ""])
async def test_refuses_to_bind_beyond_loopback_without_auth(memory_sq: Sidequest, host: str) -> None:
    with pytest.raises(ConfigurationError, match="without authentication"):
        Dashboard(memory_sq, host=host)
    Dashboard(memory_sq, host=host, auth=("admin", "s3cret"))
    Dashboard(memory_sq, host=host, insecure=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
async def test_loopback_needs_no_auth(memory_sq: Sidequest, host: str) -> None:
    Dashboard(memory_sq, host=host)


@pytest.mark.parametrize("port", [-1, 70000, "8678", True])
async def test_bad_port(memory_sq: Sidequest, port: object) -> None:
    with pytest.raises(ConfigurationError, match="port"):
        Dashboard(memory_sq, port=port)  # type: ignore[arg-type]


async def test_start_serve_stop(memory_sq: Sidequest) -> None:
    dashboard = Dashboard(memory_sq, port=0, base_path="/sq", auth=("admin", "s3cret"))
    await dashboard.start()
    try:
        assert dashboard.running and dashboard.port > 0
        assert dashboard.url == f"http://127.0.0.1:{dashboard.port}/sq/"
        async with httpx.AsyncClient(auth=("admin", "s3cret")) as http:
            page = await http.get(dashboard.url + "jobs")
            assert page.status_code == 200 and "Jobs" in page.text
            assert (await http.get(dashboard.url + "static/htmx.min.js")).status_code == 200
        async with httpx.AsyncClient() as anonymous:
            assert (await anonymous.get(dashboard.url)).status_code == 401
        with pytest.raises(ConfigurationError, match="cannot listen"):
            await Dashboard(memory_sq, port=dashboard.port).start()
    finally:
        await dashboard.stop()
    assert not dashboard.running
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(dashboard.url)
    await dashboard.stop()


async def test_async_context_manager(memory_sq: Sidequest) -> None:
    async with Dashboard(memory_sq, port=0) as dashboard, httpx.AsyncClient() as http:
        assert (await http.get(dashboard.url)).status_code == 200


def test_parse_auth() -> None:
    assert parse_auth("admin:pa:ss") == ("admin", "pa:ss")
    assert parse_auth(("a", "b")) == ("a", "b")
    assert parse_auth(None) is None
    for bad in ("nocolon", ":pw", "user:"):
        with pytest.raises(ConfigurationError):
            parse_auth(bad)


def test_serve_refuses_exposure_before_connecting() -> None:
    with pytest.raises(ConfigurationError, match="without authentication"):
        serve("memory://", host="0.0.0.0")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_runs_until_sigint(tmp_path: object) -> None:
    code = "from sidequest_dashboard import serve; serve('memory://', port=0, base_path='/x')"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert line.startswith("sidequest dashboard on http://127.0.0.1:"), line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        deadline = time.monotonic() + 10
        while True:
            try:
                assert httpx.get(url + "queues").status_code == 200
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
