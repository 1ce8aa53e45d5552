"""What the admin sees: the live table on a terminal, plain lines in a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect

from tests.helpers import REPO


def test_live_table_on_a_terminal_shows_each_host(tmp_path: Path) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "ops.cli", "run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"),
                                           "-i", str(REPO / "inventory.yaml"), "-o", str(tmp_path / "out")],
                          cwd=str(tmp_path), encoding="utf-8", timeout=90, dimensions=(40, 160))
    child.expect(pexpect.EOF)
    child.close()
    output = child.before or ""
    assert child.exitstatus == 0, output
    for column in ("host", "state", "step", "files", "received"):
        assert column in output
    assert "finesse-a" in output and "finesse-b" in output and "RECAP" in output
    assert "\x1b[" in output  # drawn with terminal control sequences, not plain lines
