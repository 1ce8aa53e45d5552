"""network_status, webproxy_cache_clear, service and cli steps end to end over SSH against the lab."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import run, write_inventory


def play(tmp_path: Path, config: LabConfig, steps: str, *, check: Callable[[LabAppliance], Any] | None = None,
         timeout: float = 20) -> tuple[RunReport, Path, Any]:
    """Run a playbook of `steps` (YAML under `steps:`) against one lab; returns the report and run dir."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    book_path = tmp_path / "pb.yaml"
    book_path.write_text("name: test\nhosts: finesse\nsteps:\n" + steps)

    async def go() -> tuple[RunReport, Any]:
        async with LabAppliance(config) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            book = load_playbook(book_path, inventory)
            report = await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected",
                                                                     command_timeout=timeout))
            return report, check(lab) if check else None

    report, checked = run(go())
    return report, tmp_path / "collected" / report.run_id / "node1", checked


def test_network_status_counts_files_and_register(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    steps = """\
  - name: desktop
    network_status: {process: true, search: ":8445"}
    register: clients
  - name: everything
    network_status: {all: true, detail: true, process: true, save_as: full}
    register: full
  - name: only when 7 agents are on the desktop
    when: "clients.summary.ports['8445'].remote_clients == 7 and full.summary.ports['7443'].remote_clients == 3"
    cli: {command: show version active}
"""
    report, host_dir, _ = play(tmp_path, lab_env(desktop_clients=7, xmpp_clients=3, seed=4), steps)
    host = report.hosts["node1"]
    assert host.status == "ok", host.error
    first, full, gated = host.steps
    assert gated.status == "ok"  # the when: on registered summaries held
    assert first.message.startswith(f"{first.data['summary']['connections']} connections; 8445: 7 clients")
    port = first.data["summary"]["ports"]["8445"]
    assert port["remote_clients"] == 7 and len(port["clients"]) == 7
    assert set(first.data["summary"]["ports"]) == {"8445"}
    assert all(r["program"] in ("java", None) for r in first.data["records"])
    assert full.data["summary"]["ports"]["7443"]["remote_clients"] == 3
    assert full.data["summary"]["ports"]["22"]["listening"]
    assert any(":" in r["remote_address"] and "." not in r["remote_address"] for r in full.data["records"])  # IPv6
    saved = json.loads((host_dir / "network-status-1.json").read_text())
    assert saved["summary"] == first.data["summary"]
    assert saved["command"] == "show network status process nodns search :8445"
    with (host_dir / "network-status-full.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(full.data["records"]) and rows[0]["state"] == "LISTEN"


def test_webproxy_clear_and_its_failure(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    steps = "  - name: clear\n    webproxy_cache_clear: {cache: rest}\n"
    report, _, generation = play(tmp_path / "ok", lab_env(), steps, check=lambda lab: lab.webproxy_cache_generation)
    step = report.hosts["node1"].steps[0]
    assert step.status == "changed" and step.data["cleared"] == ["rest"] and generation == 1
    assert step.data["output"] == "Successfully cleared rest cache"

    report, _, generation = play(tmp_path / "bad", lab_env(webproxy_fails=True), steps,
                                 check=lambda lab: lab.webproxy_cache_generation)
    host = report.hosts["node1"]
    assert host.status == "failed" and generation == 0
    assert "Failed to clear rest cache: unable to reach Cisco Web Proxy Service" in host.steps[0].message


def test_service_restart_follows_status_and_checks_the_list(tmp_path: Path,
                                                            lab_env: Callable[..., LabConfig]) -> None:
    steps = "  - name: restart\n    service: {action: restart}\n"
    report, _, state = play(tmp_path, lab_env(), steps, check=lambda lab: lab.services["Cisco Finesse Tomcat"])
    step = report.hosts["node1"].steps[0]
    assert step.status == "changed", step.message
    assert step.data["progress"] == ["STOPPING", "STARTING", "STARTED"] and step.data["listed"] == "STARTED"
    assert state == "STARTED"
    assert "Don't press Ctrl-c" in step.data["output"]


def test_service_that_stays_stopped_fails(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    steps = "  - name: restart\n    service: {action: restart, name: Cisco Finesse Tomcat}\n"
    report, _, _ = play(tmp_path, lab_env(service_fails=True), steps)
    host = report.hosts["node1"]
    assert host.status == "failed"
    message = host.steps[0].message
    assert "ended STOPPED, not STARTED (STOPPING -> STOPPED)" in message
    assert "`utils service list` shows Cisco Finesse Tomcat STOPPED" in message


def test_service_restart_timeout_and_unknown_service(tmp_path: Path, lab_env: Callable[..., LabConfig]) -> None:
    steps = "  - name: restart\n    service: {action: restart, timeout: 0.3}\n"
    report, _, _ = play(tmp_path / "slow", lab_env(service_delay=0.2), steps)
    host = report.hosts["node1"]
    assert host.status == "failed" and "did not finish within 0.3s" in (host.error or "")

    steps = "  - name: stop\n    service: {action: stop, name: Cisco Nothing}\n"
    report, _, _ = play(tmp_path / "unknown", lab_env(), steps)
    assert "Invalid service name: Cisco Nothing" in report.hosts["node1"].steps[0].message


def test_cli_prompts_fail_when_register_when_ignore_errors(tmp_path: Path, lab_env: Callable[..., LabConfig],
                                                           monkeypatch: Any) -> None:
    monkeypatch.setenv("UI_NEW_PW", "Brand-New-Pw-77")
    steps = """\
  - name: reset by hand
    cli:
      command: utils reset_application_ui_administrator_password
      prompts:
        - {expect: 'Confirm New Password:', answer: 'env:UI_NEW_PW', secret: true}
        - {expect: 'New Password:', answer: 'env:UI_NEW_PW', secret: true}
    register: reset
  - name: version, fails on purpose
    cli: {command: show version active, fail_when: 'Active Master Version'}
    ignore_errors: true
    register: version
  - name: runs because the reset said so and the version step failed
    when: "version.failed and 'Password updated successfully.' in reset.lines"
    cli: {command: show myself}
  - name: skipped
    when: version.ok
    cli: {command: show myself}
"""
    report, host_dir, ok = play(tmp_path, lab_env(), steps, check=lambda lab: lab.admin_ui.sign_in("admin",
                                                                                              "Brand-New-Pw-77"))
    host = report.hosts["node1"]
    assert host.status == "ok", host.error
    assert [s.status for s in host.steps] == ["ok", "ignored", "ok", "skipped"]
    assert "fail_when" in host.steps[1].message
    assert ok
    assert "Brand-New-Pw-77" not in (host_dir / "transcript.log").read_text()


@pytest.mark.parametrize(("output", "requested", "cleared"), [
    ("Successfully cleared rest cache", "rest", ["rest"]),          # the lab, after the documented desktop line
    ("REST cache cleared successfully.", "rest", ["rest"]),
    ("Cleared rest cache successfully", "rest", ["rest"]),
    ("Cache cleared.", "rest", ["rest"]),                           # names no cache: the one asked for
    ("Successfully cleared webproxy cache\nSuccessfully cleared desktop cache", "all", ["webproxy", "desktop"]),
    ("Failed to clear rest cache: unable to reach Cisco Web Proxy Service.", "rest", None),
    ("The rest cache could not be cleared", "rest", None),
    ("", "rest", None),
    ("Cisco Web Proxy Service is stopped", "rest", None),
])
def test_a_clear_is_read_loosely_as_the_reference_asks(output: str, requested: str,
                                                        cleared: list[str] | None) -> None:
    """The success line is documented for `desktop` only: any output that speaks of clearing and of
    nothing going wrong is a clear; a failure, silence or an unrelated line is not."""
    from ops.actions.webproxy import cleared_caches

    assert cleared_caches(output, requested) == cleared
