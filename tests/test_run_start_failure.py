"""A run that fails while starting never reports a host as ok (issues 14 and 20)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run


def test_a_receiver_that_cannot_bind_fails_every_host_as_not_run(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        inventory_path = tmp_path / "inventory.yaml"
        inventory_path.write_text((REPO / "inventory.yaml").read_text().replace("port: 0 ", f"port: {port} "))
        inventory = load_inventory(inventory_path)
        assert inventory.receiver.port == port
        book = load_playbook(REPO / "playbooks" / "pull-desktop-logs.yaml", inventory)
        report = run(run_playbook(book, inventory, RunOptions(output=tmp_path / "out", command_timeout=10)))
    assert sorted(report.failed_hosts) == ["finesse-a", "finesse-b"]
    saved = json.loads((tmp_path / "out" / report.run_id / "report.json").read_text())
    for host in ("finesse-a", "finesse-b"):
        entry = saved["hosts"][host]
        assert entry["status"] == "failed" and entry["steps"] == []
        assert entry["error"].startswith("did not run: the run could not start (")


def test_hosts_that_ran_are_ok_and_check_mode_is_ok(tmp_path: Path) -> None:
    inventory = load_inventory(REPO / "inventory.yaml")
    book = load_playbook(REPO / "playbooks" / "clear-webproxy-cache.yaml", inventory)
    report = run(run_playbook(book, inventory, RunOptions(output=tmp_path / "out", command_timeout=10, check=True)))
    assert report.failed_hosts == [] and all(r.error is None for r in report.hosts.values())
