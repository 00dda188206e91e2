"""pytest plugin (loaded with ``-p avelar_kit.testing.plugin``).

Session fixtures:
- ``pg_url``: an asyncpg URL of a PostgreSQL server's ``postgres`` database: TEST_DATABASE_URL
  when set, otherwise an embedded server started for this run.
- ``redis_url``: TEST_REDIS_URL when set, otherwise an embedded Redis.
A service's conftest builds its own database from its migrations with ``migrated_database``:
migrated as the owner (``pg_url``'s role), it yields the URL of the app role (``TEST_APP_ROLE``,
created once per server by ``avelar_kit.db.roles.ensure_app_role``), the role the service
connects as in production: it owns nothing and cannot bypass row-level security. Fixtures that
seed across companies or empty the tables use ``owner_url(url)``.

The log scan (``avelar_kit.testing.logscan``) watches every log line of the run, the spawned
processes' too, and fails the run on a CPF, CNPJ, phone number or token (conftests ``plant``
their test documents and numbers).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

_state: dict[str, Any] = {}

# Tests send hundreds of requests from one address: abuse limits are off unless a test turns
# them on (abuse_limits_enabled=True). Inherited by the processes the tests start.
os.environ.setdefault("AVELAR_ABUSE_LIMITS", "off")


def _normalize_pg(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def _embedded_root() -> Path:
    root = _state.get("root")
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="avelar-test-"))
        _state["root"] = root
    return root


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    env = os.environ.get("TEST_DATABASE_URL")
    if env:
        yield _normalize_pg(env)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from avelar_devstack.embedded import start_postgres

        pg = start_postgres(_embedded_root() / "pg")
    try:
        yield pg.url()
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    env = os.environ.get("TEST_REDIS_URL")
    if env:
        yield env
        return
    from avelar_devstack.embedded import start_redis

    r = start_redis(_embedded_root() / "redis")
    try:
        yield r.url()
    finally:
        r.stop()


# One login role for every test database of a server (roles are per server; parallel runs
# share it, each database grants it on its own).
TEST_APP_ROLE = "avelar_test_app"
TEST_APP_PASSWORD = "avelar-test-app"  # noqa: S105 (a local test role's)
_owners: dict[str, str] = {}


def app_role_url(owner_url: str) -> str:
    """The same database as the test app role."""
    return make_url(owner_url).set(username=TEST_APP_ROLE, password=TEST_APP_PASSWORD
                                   ).render_as_string(hide_password=False)


def owner_url(url: str) -> str:
    """The owner's URL of a database ``migrated_database`` made (``url``: its app URL)."""
    database = make_url(url).database
    assert database in _owners, f"{database} was not made by migrated_database"
    return _owners[database]


def migrated_database(pg_url: str, module: str, service_dir: Path) -> Iterator[str]:
    """Create a fresh database for this run, migrate it to head as the owner, and yield the
    app role's URL to it (``owner_url`` gives the owner's); drop it afterwards."""
    from avelar_devstack.embedded import drop_database, ensure_database, with_database
    from avelar_kit.testing.database import unique_db_name, upgrade

    owner = with_database(pg_url, unique_db_name(module))
    ensure_database(owner)
    app = app_role_url(owner)
    database = make_url(owner).database
    assert database is not None
    _owners[database] = owner
    try:
        upgrade(service_dir, owner, app_url=app)
        yield app
    finally:
        _owners.pop(database, None)
        drop_database(owner)


def pytest_configure(config: pytest.Config) -> None:
    from avelar_kit.testing import logscan

    logscan.start()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    from avelar_kit.testing import watchdog

    try:
        timeout = float(item.config.getini("timeout") or 0)  # pytest-timeout's setting
    except ValueError:
        timeout = 0
    after = float(os.environ.get("AVELAR_TEST_WATCHDOG") or (timeout / 2 if timeout else 300))
    timer = watchdog.start(item.nodeid, after)
    try:
        return (yield)
    finally:
        timer.cancel()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import logging

    from avelar_kit.testing import logscan

    leaks = logscan.finish()
    if leaks:
        _state["leaks"] = leaks
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

    # Handlers installed by configure_logging write to pytest's capture streams, which close
    # now; libraries that log at interpreter exit (pgserver's atexit) must not hit them.
    root_logger = logging.getLogger()
    for handler in list(root_logger.handlers):
        if getattr(handler, "_avelar", False):
            root_logger.removeHandler(handler)
            if isinstance(handler, logging.FileHandler):
                handler.close()
    root = _state.pop("root", None)
    if root is not None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    leaks: list[str] = _state.pop("leaks", [])
    if leaks:
        terminalreporter.section("log scan: personal data or tokens in log lines", red=True)
        for leak in leaks[:50]:
            terminalreporter.line(leak)
        terminalreporter.line(f"{len(leaks)} log line(s) carry a CPF, CNPJ, phone number or "
                              "token (avelar_kit.testing.logscan); the run fails.", red=True)
