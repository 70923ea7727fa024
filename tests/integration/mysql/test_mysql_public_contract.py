"""sidequest-mysql is built from the public backend contract only: no ``sidequest._private`` import."""

from __future__ import annotations

import ast
from pathlib import Path

import sidequest_mysql

PACKAGE = Path(sidequest_mysql.__file__).parent
PUBLIC = {"sidequest", "sidequest.backend"}


def _sources() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 5, f"sources not found under {PACKAGE}"
    return files


def test_no_private_sidequest_module_is_named() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "sidequest._" in line
    ]
    assert offenders == []


def test_every_sidequest_import_is_public() -> None:
    offenders = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
                names = []
            else:
                continue
            for module in modules:
                if module.split(".")[0] != "sidequest":
                    continue
                if module not in PUBLIC or any(name.startswith("_") for name in names):
                    offenders.append(f"{path.name}:{node.lineno}: {module} {names}")
    assert offenders == []


def test_imported_names_are_exported() -> None:
    """Each name taken from ``sidequest.backend`` / ``sidequest`` is in that module's ``__all__``."""
    import sidequest
    import sidequest.backend

    exported = {"sidequest": set(sidequest.__all__), "sidequest.backend": set(sidequest.backend.__all__)}
    missing = [
        f"{path.name}: {node.module}.{alias.name}"
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module in exported
        for alias in node.names
        if alias.name not in exported[node.module]
    ]
    assert missing == []
