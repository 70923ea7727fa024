"""Every Python sample of the docs is a file in docs/snippets/, and every one of them runs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
INCLUDE = re.compile(r'^\s*--8<--\s+"(docs/snippets/[^"]+)"\s*$')
FENCE = re.compile(r"^(\s*)```\s*(\w+)?")
NEEDS_POSTGRES = {"transactional_enqueue.py", "postgres_config.py"}
"""Snippets that use PostgreSQL; they run with DATABASE_URL set to the test server."""
SNIPPET_TIMEOUT = 90


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if SNIPPETS not in p.parents)


def _python_blocks(page: Path) -> list[tuple[int, list[str]]]:
    """``(line number, body lines)`` of every ```python fence in ``page``."""
    blocks: list[tuple[int, list[str]]] = []
    lines = page.read_text().splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match:
            start, language = index, match.group(2) or ""
            index += 1
            body = []
            while index < len(lines) and not lines[index].strip().startswith("```"):
                body.append(lines[index])
                index += 1
            if language in ("python", "py"):
                blocks.append((start + 1, body))
        index += 1
    return blocks


def test_every_python_sample_in_the_docs_is_an_included_snippet() -> None:
    offenders = [
        f"{page.relative_to(ROOT)}:{line}"
        for page in _pages()
        for line, body in _python_blocks(page)
        if not body or not all(INCLUDE.match(text) for text in body if text.strip())
    ]
    assert not offenders, (
        "Python samples must be runnable files in docs/snippets/ included with "
        f'--8<-- "docs/snippets/NAME.py" (so that a test runs them): {", ".join(offenders)}'
    )


def test_every_snippet_is_shown_and_exists() -> None:
    included = {
        match.group(1)
        for page in _pages()
        for text in page.read_text().splitlines()
        if (match := INCLUDE.match(text))
    }
    files = {f"docs/snippets/{path.name}" for path in SNIPPETS.glob("*.py")}
    assert included - files == set(), "pages include snippets that do not exist"
    assert files - included == set(), "snippets that no page shows"


def _snippet_names() -> list[object]:
    return [
        pytest.param(path.name, marks=pytest.mark.postgres) if path.name in NEEDS_POSTGRES else path.name
        for path in sorted(SNIPPETS.glob("*.py"))
    ]


def _copy_snippets(tmp_path: Path) -> None:
    for path in SNIPPETS.glob("*.py"):
        shutil.copy(path, tmp_path / path.name)


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.mark.parametrize("name", _snippet_names())
def test_snippet_runs(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    pytest.importorskip("sidequest_sqlite.backend")
    _copy_snippets(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    if name in NEEDS_POSTGRES:
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
        asyncio.run(_drop_schema(env["DATABASE_URL"], "shop_jobs"))
        request.addfinalizer(lambda: asyncio.run(_drop_schema(env["DATABASE_URL"], "shop_jobs")))
    if name.startswith("test_"):
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            name,
        ]
    else:
        command = [sys.executable, name]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SNIPPET_TIMEOUT
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"


def test_getting_started_flow(tmp_path: Path) -> None:
    """tasks.py + enqueue.py, then the worker and the listing, as the guide tells."""
    pytest.importorskip("sidequest_sqlite.backend")
    _copy_snippets(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDEQUEST_")}

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run(sys.executable, "enqueue.py").splitlines() == [
        f"enqueued job #{n} (waiting)" for n in (1, 2, 3)
    ]
    run(sys.executable, "-m", "sidequest", "worker", "tasks:sq", "--drain")
    listing = json.loads(
        run(sys.executable, "-m", "sidequest", "jobs", "list", "--json", "--url", "sqlite:///tasks.sqlite3")
    )
    assert [(job["state"], job["result"]) for job in listing["jobs"]] == [
        ("completed", {"thumbnail": f"cat-{width}.png", "width": width}) for width in (800, 400, 200)
    ]


def test_docs_site_builds_strictly(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "cli" / "index.html").exists()


def test_readme_starts_with_the_two_commands_and_shows_the_quickstart() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("```bash\nuv run sidequest demo\nuv run pytest\n```\n")
    sample = readme.split("```python\n", 1)[1].split("```\n", 1)[0]
    assert sample == (SNIPPETS / "quickstart.py").read_text()  # run by test_snippet_runs


def test_documented_conformance_command_runs(tmp_path: Path) -> None:
    """The `pytest --pyargs sidequest.testing.conformance …` line of backends/writing.md, on memory://."""
    page = (DOCS / "backends" / "writing.md").read_text()
    [line] = [text for text in page.splitlines() if text.startswith("pytest --pyargs")]
    args = [arg.replace("mydb://localhost/test", "memory://") for arg in line.split()[1:]]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout
