"""What a run writes is private to its user (issue 14, class 6): files 0600, directories 0700, even under umask 022."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops import fileio
from ops.bundle import make_bundle
from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
        fileio.share_with_group(False)
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]}


def _pull(tmp_path: Path) -> Path:
    inventory = load_inventory(REPO / "inventory.yaml")
    book = load_playbook(REPO / "playbooks" / "incident-desktop-outage.yaml", inventory)
    report = run(run_playbook(book, inventory, RunOptions(output=tmp_path / "collected", command_timeout=20)))
    assert not report.failed_hosts
    return tmp_path / "collected"


def test_run_files_and_bundle_are_private_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    out = _pull(tmp_path)
    run_dir = next(p for p in out.iterdir() if not p.name.startswith("."))
    bundle = make_bundle(run_dir, tmp_path / "case.tar.gz")
    modes = _modes(out) | {"bundle": stat.S_IMODE(bundle.path.stat().st_mode)}
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not loose, f"readable by group or others: {loose}"
    kinds = {p.suffix for p in run_dir.rglob("*") if p.is_file()}
    assert {".json", ".log", ".csv"} <= kinds  # reports, manifests, transcripts, logs, CSVs all checked


def test_group_sharing_is_an_explicit_choice_and_never_reaches_others(tmp_path: Path, umask_022: None) -> None:
    fileio.share_with_group(True)
    out = _pull(tmp_path)
    modes = _modes(out)
    assert not {n: oct(m) for n, m in modes.items() if m & 0o007}
    assert any(m & 0o040 for m in modes.values())
