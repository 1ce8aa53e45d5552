"""What the admin sees: the live table on a terminal, plain lines in a pipe."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tests.helpers import REPO, on_a_terminal


def test_live_table_on_a_terminal_shows_each_host(tmp_path: Path) -> None:
    book = REPO / "playbooks" / "pull-desktop-logs.yaml"
    argv = [sys.executable, "-m", "ops.cli", "run", str(book), "-i", str(REPO / "inventory.yaml"),
            "-o", str(tmp_path / "out")]
    status, output = on_a_terminal(argv, tmp_path, dimensions=(40, 160))
    assert status == 0, output
    for column in ("host", "state", "step", "files", "received"):
        assert column in output
    assert "finesse-a" in output and "finesse-b" in output and "RECAP" in output
    assert "\x1b[" in output  # drawn with terminal control sequences, not plain lines


def test_the_live_table_fits_the_terminal_with_running_and_failed_hosts_first() -> None:
    """300 hosts on a 30-line terminal: 26 host rows (running and failed first) and one that counts
    the rest by state; rows nobody could see are not rendered."""
    from rich.console import Console

    from ops.events import HostFinished, HostStarted, StepFinished
    from ops.progress import LiveProgress

    hosts = [f"fin-{i:03d}" for i in range(300)]
    progress = LiveProgress(hosts, console=Console(width=120, height=30, file=io.StringIO()))
    for name in hosts[:200]:
        progress.event(HostStarted(name))
        progress.event(HostFinished(name, "ok"))
    for name in hosts[200:210]:
        progress.event(HostStarted(name))
    progress.event(HostStarted("fin-250"))
    progress.event(StepFinished("fin-250", "pull", "failed", "no"))
    progress.event(HostFinished("fin-250", "failed", "no"))
    sampled: list[str] = []
    progress.stats = lambda name: (sampled.append(name), (0, 0))[1]
    table = progress._table()
    names = [str(cell) for cell in table.columns[0]._cells]
    assert len(names) == 27 and names[-1] == "... 274 more"
    assert names[:10] == hosts[200:210] and names[10] == "fin-250"
    assert str(table.columns[1]._cells[-1]) == "200 ok, 74 waiting"
    assert sorted(sampled) == sorted(names[:-1])  # only the rows shown ask the receiver for stats


def test_the_live_table_keeps_inventory_order_when_every_host_fits() -> None:
    from rich.console import Console

    from ops.events import HostStarted
    from ops.progress import LiveProgress

    progress = LiveProgress(["b", "a", "c"], console=Console(width=120, height=30, file=io.StringIO()))
    progress.event(HostStarted("c"))
    assert [str(c) for c in progress._table().columns[0]._cells] == ["b", "a", "c"]
