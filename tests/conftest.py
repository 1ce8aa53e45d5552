"""Shared fixtures: lab configs whose password the test inventories reference."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ops.lab.server import LabConfig
from tests.helpers import LAB_PASSWORD


@pytest.fixture
def lab_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., LabConfig]]:
    """Sets the inventory's password variable and makes lab configs using it."""
    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)

    def make(**kw: Any) -> LabConfig:
        kw.setdefault("password", LAB_PASSWORD)
        return LabConfig(**kw)

    yield make


@pytest.fixture
def generated_secrets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every secret value generated while the test runs (lab, receiver, temporary passwords)."""
    from ops.secrets import Secret

    values: list[str] = []
    original = Secret.generate.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Secret], length: int = 24, source: str = "generated") -> Secret:
        secret = original(cls, length, source)
        values.append(secret.reveal())
        return secret

    monkeypatch.setattr(Secret, "generate", classmethod(spy))
    return values


@pytest.fixture(scope="session", autouse=True)
def _entry_point() -> None:
    """As the `ops` entry point does: asyncssh patched, inventories may hold lab hosts, runs start them."""
    from ops import sshpatches
    from ops.lab.provider import install

    sshpatches.apply()
    install()


@pytest.fixture(autouse=True)
def _umask_per_test() -> Iterator[None]:
    """A run in-process tightens the process umask (ops.fileio.private_umask) and may share with the
    group: both undone after each test, so no test sees what an earlier one in the worker left."""
    from ops import fileio

    mask = os.umask(0o022)
    os.umask(mask)
    group = fileio._group
    yield
    os.umask(mask)
    fileio._group = group


@pytest.fixture(autouse=True)
def _logging_per_test() -> Iterator[None]:
    """A test that runs the `ops` command in-process configures logging (ops.logconfig): undone after it."""
    yield
    from ops.logconfig import reset

    reset()


@pytest.fixture(autouse=True)
def _masker_per_test() -> Iterator[None]:
    """Each test masks only the secrets it made itself (and the session's): a short test value such
    as "abc", registered by one test, must not mask three hex digits of another test's sha256."""
    from ops.secrets import MASKER

    with MASKER._lock:
        saved = set(MASKER._values)
    yield
    with MASKER._lock:
        if MASKER._values != saved:
            MASKER._values = saved
            MASKER._fresh = []
            MASKER._automaton = None


_TEMP_BEFORE: set[str] = set()


def _temp_names() -> set[str]:
    import tempfile
    from pathlib import Path

    return {p.name for p in Path(tempfile.gettempdir()).glob("ops-*")}


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Every skip, as the process that ends the session hears of it (the xdist controller too)."""
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append(f"{report.nodeid}: {reason}")


def pytest_sessionstart(session: pytest.Session) -> None:
    _TEMP_BEFORE.update(_temp_names())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite leaves no lab tree, CA file or bundle scratch directory in the temp directory.

    Checked once, where the whole suite ends (the xdist controller, or the only process), since
    workers still running keep theirs."""
    import os

    if os.environ.get("PYTEST_XDIST_WORKER") or session.config.option.collectonly:
        return
    if _SKIPPED and os.environ.get("OPS_ALLOW_SKIPS") != "1":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: {len(_SKIPPED)} test(s) skipped, and CI never skips quietly (tests/setup-system.sh "
              "installs what they need; OPS_ALLOW_SKIPS=1 accepts skips on a machine without it):")
        for line in _SKIPPED:
            print(f"  {line}")
    left = sorted(_temp_names() - _TEMP_BEFORE)
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nFAILED: tests left temporary files behind: {left}")


# Tests whose subject is a browser's rendering: the page does not change with the interpreter, so
# tests/matrix.sh runs them once (see the `once` marker in pyproject.toml).
_BROWSER_FIXTURES = {"chromium", "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.once)
    # The longest tests go first (a stable sort keeps the rest in order): pytest-xdist hands tests
    # out in this order, so no worker starts a minute-long soak when the others are done.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
