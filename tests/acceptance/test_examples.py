"""Each example under examples/ runs as its README says and prints what the README shows."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(params=["sqlite", "memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The SIDEQUEST_URL to run with (None: the example's default SQLite file)."""
    if request.param == "sqlite":
        pytest.importorskip("sidequest_sqlite.backend")
        yield None
    elif request.param == "memory":
        yield "memory://"
    else:
        base: str = request.getfixturevalue("postgres_url")
        schema = f"sq_example_{uuid.uuid4().hex[:10]}"
        yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
        asyncio.run(_drop_schema(base, schema))


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _example(name: str, tmp_path: Path, url: str | None) -> tuple[Path, dict[str, str]]:
    target = tmp_path / name
    # not the databases a reader's own runs of the example left in its directory
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("*.sqlite3*", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDEQUEST_")}
    if url is not None:
        env["SIDEQUEST_URL"] = url
    return target, env


def _run(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_every_example_has_a_readme_and_a_main() -> None:
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
    assert names == [
        "custom-backend",
        "fastapi-app",
        "hello-world",
        "job-chaining",
        "retries-and-snooze",
        "transactional-enqueue",
        "uniqueness",
    ]
    for name in names:
        readme = (EXAMPLES / name / "README.md").read_text()
        assert (EXAMPLES / name / "main.py").exists() or (EXAMPLES / name / "pyproject.toml").exists()
        assert f"cd examples/{name}" in readme


def test_hello_world(tmp_path: Path, database: str | None) -> None:
    cwd, env = _example("hello-world", tmp_path, database)
    assert _run(cwd, env, sys.executable, "main.py").splitlines() == [
        "enqueued jobs #1, #2, #3",
        "job #1 completed: Hello, Ada!",
        "job #2 completed: Hello, Grace!",
        "job #3 completed: Hello, Linus!",
    ]


def test_hello_world_with_a_separate_worker(tmp_path: Path, database: str | None) -> None:
    if database == "memory://":
        pytest.skip("memory:// cannot be shared between processes")
    cwd, env = _example("hello-world", tmp_path, database)
    assert "run them with: sidequest worker jobs:sq --drain" in _run(
        cwd, env, sys.executable, "main.py", "--enqueue-only"
    )
    _run(cwd, env, sys.executable, "-m", "sidequest", "worker", "jobs:sq", "--drain")
    listing = json.loads(
        _run(cwd, env, sys.executable, "-m", "sidequest", "jobs", "list", "--app", "jobs:sq", "--json")
    )
    assert [job["result"] for job in listing["jobs"]] == ["Hello, Linus!", "Hello, Grace!", "Hello, Ada!"]


def test_retries_and_snooze(tmp_path: Path, database: str | None) -> None:
    cwd, env = _example("retries-and-snooze", tmp_path, database)
    out = _run(cwd, env, sys.executable, "main.py")
    readme = (cwd / "README.md").read_text()
    expected = readme.split("```text\n", 1)[1].split("```", 1)[0]
    assert out == expected


def test_uniqueness(tmp_path: Path, database: str | None) -> None:
    cwd, env = _example("uniqueness", tmp_path, database)
    lines = _run(cwd, env, sys.executable, "main.py").splitlines()
    first = re.fullmatch(r"rebuild: 1 stored, 19 refused as duplicates of job #(\d+)", lines[0])
    assert first is not None
    assert re.fullmatch(
        r"digest for user 1 again: refused \(SendDailyDigest is a duplicate of job #\d+ \(uniqueness\)\)",
        lines[1],
    )
    assert lines[2:4] == [
        "bulk digests: stored for users [2, 3], skipped user 1",
        f"rebuild job #{first.group(1)}: index rebuilt",
    ]
    assert re.fullmatch(r"after it finished, a new rebuild is accepted: job #\d+", lines[4])


def test_job_chaining(tmp_path: Path, database: str | None) -> None:
    cwd, env = _example("job-chaining", tmp_path, database)
    out = re.sub(r"#\d+|\[\d+, \d+, \d+\]", "N", _run(cwd, env, sys.executable, "main.py"))
    assert out.splitlines() == [
        "chain:",
        "  N Checkout (default): completed {'total': 30.0}",
        "  N ChargeCard (payments): completed {'charge': 'ch_1001_1'}",
        "  N SendReceipt (emails): completed {'sent': 'receipt for order 1001: 30.00 (ch_1001_1)'}",
        "fan-out / fan-in:",
        "  N ImportAlbum (default): completed {'thumbnails': N}",
        "  N PublishAlbum (default): completed {'album': 'holidays', 'published': 3, 'thumbnails': "
        "['holidays/thumbs/beach.jpg', 'holidays/thumbs/dune.jpg', 'holidays/thumbs/sunset.jpg']}",
    ]


def test_fastapi_app_service_without_fastapi(tmp_path: Path, database: str | None) -> None:
    cwd, env = _example("fastapi-app", tmp_path, database)
    out = _run(cwd, env, sys.executable, "smoke.py")
    readme = (cwd / "README.md").read_text()
    assert out == readme.split("```text\n", 1)[1].split("```", 1)[0]


def test_fastapi_app_with_a_separate_worker(tmp_path: Path) -> None:
    pytest.importorskip("sidequest_sqlite.backend")
    cwd, env = _example("fastapi-app", tmp_path, None)
    enqueue = "import asyncio, service\nasync def m():\n    await service.startup()\n" + (
        "    print((await service.sign_up('ada@example.com'))['job_id'])\n    await service.shutdown()\n"
        "asyncio.run(m())"
    )
    job_id = int(_run(cwd, env, sys.executable, "-c", enqueue))
    _run(cwd, env, sys.executable, "-m", "sidequest", "worker", "jobs:sq", "--drain", "--queues", "emails")
    show = json.loads(
        _run(
            cwd,
            env,
            sys.executable,
            "-m",
            "sidequest",
            "jobs",
            "show",
            str(job_id),
            "--app",
            "jobs:sq",
            "--json",
        )
    )
    assert (show["state"], show["result"]) == ("completed", {"sent_to": "ada@example.com"})


def test_fastapi_app_over_http(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    cwd, env = _example("fastapi-app", tmp_path, "memory://")
    script = """
from fastapi.testclient import TestClient
import main
with TestClient(main.app) as client:
    accepted = client.post("/signups", json={"email": "ada@example.com"})
    assert accepted.status_code == 202, accepted.text
    assert client.post("/signups", json={"email": "nope"}).status_code == 422
    assert client.get("/jobs/999").status_code == 404
    print(client.get(f"/jobs/{accepted.json()['job_id']}").json()["status"])
"""
    assert _run(cwd, env | {"RUN_WORKER": "1"}, sys.executable, "-c", script).strip() in {
        "waiting",
        "running",
        "completed",
    }


def test_custom_backend_skeleton_passes_the_conformance_suite(tmp_path: Path) -> None:
    target, env = _example("custom-backend", tmp_path, None)
    env["PYTHONPATH"] = str(target / "src")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
        cwd=target,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    passed = re.search(r"\b(\d+) passed\b", done.stdout)
    assert passed and int(passed.group(1)) >= 250, done.stdout[-500:]  # the whole suite ran
    assert "failed" not in done.stdout, done.stdout[-500:]
    source = (target / "src" / "sidequest_dictdb" / "backend.py").read_text()
    assert "sidequest._" not in source, "third-party backends use only the public modules"


@pytest.mark.postgres
def test_transactional_enqueue_example(tmp_path: Path, postgres_url: str) -> None:
    target, env = _example("transactional-enqueue", tmp_path, postgres_url)
    out = _run(target, env, sys.executable, "main.py")
    assert "committed order 1 with job #1" in out
    assert "jobs for the rolled-back order: 0" in out
    assert "job #1: receipt for order 1" in out
