"""Shared fixtures: lab configs whose password the test inventories reference."""

from __future__ import annotations

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
def _no_temp_files_left_behind() -> Iterator[None]:
    """The suite leaves no lab tree, CA file or bundle scratch directory in the temp directory."""
    import tempfile
    from pathlib import Path

    tmp = Path(tempfile.gettempdir())
    before = {p.name for p in tmp.glob("ops-*")}
    yield
    left = sorted({p.name for p in tmp.glob("ops-*")} - before)
    assert not left, f"tests left temporary files behind: {left}"
