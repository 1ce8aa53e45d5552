"""`ops init` (issue 15): the starter files from the package, for a machine with `pip install` and no clone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ops.cli import main
from tests.helpers import REPO


def test_init_writes_the_shipped_starter_files_and_they_validate(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init", str(tmp_path / "site")]) == 0
    site = tmp_path / "site"
    shipped = sorted(p.name for p in (REPO / "playbooks").glob("*.yaml"))
    assert sorted(p.name for p in (site / "playbooks").glob("*.yaml")) == shipped
    for name in shipped:
        assert (site / "playbooks" / name).read_text() == (REPO / "playbooks" / name).read_text()
    assert (site / "inventory.yaml").read_text() == (REPO / "inventory.yaml").read_text()
    assert "fin-prod-a" in (site / "inventory.yaml").read_text()  # a real node to fill in, commented
    monkeypatch.chdir(site)
    capsys.readouterr()
    assert main(["validate", "playbooks/pull-desktop-logs.yaml"]) == 0  # the default inventory, here


def test_init_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "inventory.yaml").write_text("# mine\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "exist already" in capsys.readouterr().err
    assert (tmp_path / "inventory.yaml").read_text() == "# mine\n"
    assert not (tmp_path / "playbooks").exists()
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "inventory.yaml").read_text() != "# mine\n"


def test_the_clone_layout_points_at_the_packaged_starter_files() -> None:
    # One copy of each file: the clone's inventory.yaml and playbooks/ are the package's.
    assert os.path.realpath(REPO / "inventory.yaml") == str(REPO / "ops" / "starter" / "inventory.yaml")
    assert os.path.realpath(REPO / "playbooks") == str(REPO / "ops" / "starter" / "playbooks")
