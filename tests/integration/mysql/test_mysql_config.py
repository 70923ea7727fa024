"""URL parsing, server detection and plugin registration (no server needed)."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest
from sidequest import ConfigurationError
from sidequest.backend import create_backend, registry
from sidequest_mysql._config import parse_options
from sidequest_mysql._db import parse_server
from sidequest_mysql.backend import MySQLBackend


def test_url_defaults() -> None:
    options = parse_options("mysql://db.internal/jobs", {})
    assert (options.host, options.port, options.user, options.password) == ("db.internal", 3306, "root", "")
    assert (options.database, options.pool_min, options.pool_max) == ("jobs", 1, 10)


def test_url_with_everything() -> None:
    options = parse_options(
        "mariadb://app:s%40cret@10.0.0.5:3307/my%20db?pool_min=2&pool_max=20&connect_timeout=2.5", {}
    )
    assert (options.user, options.password, options.port) == ("app", "s@cret", 3307)
    assert (options.database, options.pool_min, options.pool_max, options.connect_timeout) == (
        "my db",
        2,
        20,
        2.5,
    )


def test_password_is_masked() -> None:
    backend = MySQLBackend("mysql://app:secret@db:3306/jobs")
    assert backend.url == "mysql://app:***@db:3306/jobs"
    assert "secret" not in repr(backend.options.url)


def test_keyword_options_win_over_the_url() -> None:
    backend = MySQLBackend("mysql://db/jobs?pool_max=3", pool_max=7, unix_socket="/run/mysqld.sock")
    assert backend.options.pool_max == 7
    assert backend.options.connect_arguments()["unix_socket"] == "/run/mysqld.sock"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://db",
        "mysql://db/",
        "mysql://db/a/b",
        "mysql://db/jobs?pool_mx=3",
        "mysql://db/jobs?pool_max=zero",
        "mysql://db/jobs?pool_min=5&pool_max=2",
        "mysql://db/jobs?connect_timeout=0",
        "postgresql://db/jobs",
        "mysql://db:99999/jobs",
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        MySQLBackend(url)


def test_schemes_are_registered_by_the_plugin() -> None:
    entries = {entry.scheme: entry for entry in registry().entries()}
    for scheme in ("mysql", "mariadb"):
        assert entries[scheme].distribution == "sidequest-mysql"
        assert isinstance(create_backend(f"{scheme}://root@127.0.0.1/jobs"), MySQLBackend)


def test_plugin_module_stays_light() -> None:
    code = "import sys, sidequest_mysql.plugin; print('asyncmy' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("version", "mariadb", "returning", "supported"),
    [
        ("10.11.19-MariaDB-0+deb12u1", True, True, True),
        ("10.6.0-MariaDB", True, True, True),
        ("10.5.23-MariaDB-log", True, True, False),
        ("11.4.2-MariaDB", True, True, True),
        ("8.0.36", False, False, True),
        ("8.4.0-commercial", False, False, True),
        ("5.7.44-log", False, False, False),
    ],
)
def test_server_detection(version: str, mariadb: bool, returning: bool, supported: bool) -> None:
    server = parse_server(version)
    assert (server.mariadb, server.returning) == (mariadb, returning)
    assert ("tx_isolation" in server.session_settings()) == mariadb
    if supported:
        server.check()
    else:
        with pytest.raises(ConfigurationError, match="SKIP LOCKED"):
            server.check()


def test_the_command_line_lists_the_schemes() -> None:
    output = subprocess.run(
        [sys.executable, "-m", "sidequest", "backends"], capture_output=True, text=True, check=True
    ).stdout
    lines = {line.split()[0]: line.split() for line in output.splitlines() if line.strip()}
    assert lines["mysql"][1] == "sidequest-mysql" and lines["mariadb"][1] == "sidequest-mysql"


def test_tls_options() -> None:
    assert MySQLBackend("mysql://db/jobs").options.ssl is None
    assert MySQLBackend("mysql://db/jobs?ssl=false").options.ssl is None
    context = MySQLBackend("mysql://db/jobs?ssl=true").options.ssl
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert MySQLBackend("mysql://db/jobs").options.connect_arguments().get("ssl") is None
    mine = ssl.create_default_context()
    assert MySQLBackend("mysql://db/jobs", ssl=mine).options.connect_arguments()["ssl"] is mine
    with pytest.raises(ConfigurationError, match="ssl must be"):
        MySQLBackend("mysql://db/jobs?ssl=maybe")
    with pytest.raises(ConfigurationError, match="ssl_ca"):
        MySQLBackend("mysql://db/jobs?ssl_ca=/no/such/ca.pem")
