"""Check before you change (issue 13, item 5): secrets and the UI password policy before any host is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.cli import main
from tests.helpers import REPO

UNLOCK = str(REPO / "playbooks" / "unlock-admin-ui.yaml")
INVENTORY = str(REPO / "inventory.yaml")


@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_unset_secret_variable_is_refused_before_anything_runs(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FINESSE_UI_PASSWORD", raising=False)
    extra = ["-o", str(tmp_path / "out")] if command == "run" else []
    assert main([command, UNLOCK, "-i", INVENTORY, *extra]) == 2
    err = capsys.readouterr().err
    assert "FINESSE_UI_PASSWORD is not set" in err and "Reset the admin UI password" in err
    assert not (tmp_path / "out").exists()  # no run directory: no host was touched


@pytest.mark.parametrize(("weak", "why"), [
    ("something", "upper case letter"),
    ("Short1a", "8 to 64 characters"),
    ("Admin-Password-9", "must not contain the user name"),
    ("No digits here", "digit"),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_an_original_ui_password_the_policy_refuses_stops_the_run_before_the_first_reset(
        command: str, weak: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", weak)
    extra = ["-o", str(tmp_path / "out")] if command == "run" else []
    assert main([command, UNLOCK, "-i", INVENTORY, *extra]) == 2
    err = capsys.readouterr().err
    assert "does not meet the appliance's password policy" in err and why in err
    assert weak not in err  # the reference is named, never the value
    assert not (tmp_path / "out").exists()


def test_an_unreadable_secret_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "pb.yaml"
    book.write_text("name: t\nhosts: finesse\nsteps:\n  - name: Unlock\n"
                    f"    ui_password_reset: {{password: 'file:{tmp_path / 'missing.txt'}'}}\n")
    assert main(["validate", str(book), "-i", INVENTORY]) == 2
    assert "missing.txt" in capsys.readouterr().err


def test_a_good_original_passes_and_validate_reads_the_default_inventory(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", "Finesse-UI-pw1")
    monkeypatch.chdir(REPO)
    assert main(["validate", UNLOCK]) == 0
    assert "2 host(s)" in capsys.readouterr().out
